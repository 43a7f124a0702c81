/** @jsxImportSource hono/jsx */
import { CreateTokenRequest, Name } from '@tapit/protocol';
import type { Context } from 'hono';
import { listProjects } from '../apps/repository.js';
import { requireTokenAdmin, revokeTokenAs, tokenCreation } from '../auth/token-actions.js';
import { listTokens } from '../auth/tokens.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError } from '../domain/domain-error.js';
import { toApiError } from '../http/api-error.js';
import { parseValue } from '../http/validate.js';
import { formText, requesterOf, type DashboardEnv, type PageContext } from './page-context.js';
import { RevokeTokenPage, TokensPage, type TokenForm } from './tokens-page.js';

/**
 * `/tokens`: `tapit list tokens`, `create token` and `revoke token`, for admins of all projects
 * only, through the API's own checks (auth/token-actions.ts): another token gets the API's 403.
 */
export function tokenRoutes({ routes, deps, signedIn }: PageContext) {
  const { db } = deps;

  const page = async (c: Context<DashboardEnv>, extra: Partial<Parameters<typeof TokensPage>[0]> = {}, status: 200 | 400 | 404 | 409 = 200) => {
    const projects = (await listProjects(db)).map((p) => p.name);
    return c.html(<TokensPage viewer={c.get('viewer')} tokens={await listTokens(db)} projects={projects} {...extra} />, status);
  };

  routes.get('/tokens', signedIn, async (c) => {
    requireTokenAdmin(c.get('viewer').principal);
    const revoked = c.req.query('revoked');
    return page(c, { notice: revoked && Name.safeParse(revoked).success ? `Token "${revoked}" revoked.` : undefined });
  });

  routes.post('/tokens', signedIn, async (c) => {
    const { principal } = c.get('viewer');
    requireTokenAdmin(principal);
    const raw = await c.req.parseBody();
    const form: TokenForm = { name: formText(raw, 'name'), role: formText(raw, 'role'), project: formText(raw, 'project') };
    try {
      const body = parseValue({ name: form.name, role: form.role, project: form.project || undefined }, CreateTokenRequest);
      // The secret is on this answer only (no redirect to a page that could show it again).
      const created = await inTransaction(db, tokenCreation(principal, requesterOf(c), body));
      return page(c, { created });
    } catch (caught) {
      const answer = toApiError(caught);
      if (!answer || answer.status >= 500 || answer.status === 403) throw caught;
      return page(c, { form, error: { message: answer.message, field: answer.field } }, answer.status as 400);
    }
  });

  routes.get('/tokens/:name/revoke', signedIn, async (c) => {
    requireTokenAdmin(c.get('viewer').principal);
    const token = (await listTokens(db)).find((t) => t.name === c.req.param('name') && t.revokedAt === null);
    if (!token) throw new DomainError('NOT_FOUND', `token "${c.req.param('name')}" not found or already revoked`);
    return c.html(<RevokeTokenPage viewer={c.get('viewer')} token={token} />);
  });

  routes.post('/tokens/:name/revoke', signedIn, async (c) => {
    const name = parseValue(c.req.param('name'), Name);
    await revokeTokenAs(db, deps.tokenWatch, c.get('viewer').principal, requesterOf(c), name);
    return c.redirect(`/tokens?revoked=${encodeURIComponent(name)}`, 303);
  });
}
