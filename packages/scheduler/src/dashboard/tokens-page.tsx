/** @jsxImportSource hono/jsx */
import { Role, type CreatedToken, type TokenView } from '@tapit/protocol';
import { tokenListing } from '@tapit/protocol/format';
import { Layout, type Viewer } from './layout.js';
import { ActionButton, ListingTable } from './listing.js';

export interface TokenForm {
  name?: string;
  role?: string;
  project?: string;
}

/** `tapit list tokens` and `create token`, for admins of all projects; a new token's secret is shown here once. */
export function TokensPage(props: { viewer: Viewer; tokens: TokenView[]; projects: string[]; form?: TokenForm; created?: CreatedToken; notice?: string; error?: { message: string; field?: string } }) {
  const { tokens, viewer, form = {}, error } = props;
  const invalid = (field: string) => (error?.field === field ? 'true' : undefined);
  return (
    <Layout title="Tokens" viewer={viewer}>
      <h1>API tokens</h1>
      {props.created && (
        <div class="notice" role="status">
          <p>Token "{props.created.name}" created ({props.created.role}{props.created.project ? `, project ${props.created.project}` : ''}). Its secret, shown this once only:</p>
          <p class="secret" id="new-secret">{props.created.token}</p>
        </div>
      )}
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <ListingTable
        label="Tokens"
        listing={tokenListing(tokens)}
        extra={{
          header: 'REVOKE',
          cell: (row) => (tokens[row]!.revokedAt === null ? <a href={`/tokens/${encodeURIComponent(tokens[row]!.name)}/revoke`} aria-label={`Revoke ${tokens[row]!.name}`}>Revoke…</a> : ''),
        }}
      />
      <h2 id="create">Create a token</h2>
      {error && <p class="error" role="alert">{error.message}</p>}
      <form class="stacked" method="post" action="/tokens" aria-labelledby="create">
        <input type="hidden" name="csrf" value={viewer.csrf} />
        <label for="t-name">
          name
          <input id="t-name" name="name" value={form.name ?? ''} required aria-invalid={invalid('name')} />
        </label>
        <label for="t-role">
          role
          <select id="t-role" name="role" aria-invalid={invalid('role')}>
            {Role.options.map((role) => (
              <option value={role} selected={(form.role ?? 'member') === role}>{role}</option>
            ))}
          </select>
        </label>
        <label for="t-project">
          project (empty: every project)
          <select id="t-project" name="project" aria-invalid={invalid('project')}>
            <option value="" selected={!form.project}>(all)</option>
            {props.projects.map((project) => (
              <option value={project} selected={form.project === project}>{project}</option>
            ))}
          </select>
        </label>
        <p>
          <button type="submit" class="primary">Create token</button>
        </p>
      </form>
    </Layout>
  );
}

/** Revoking asks once more: every session and stream of the token ends, and it cannot be undone. */
export function RevokeTokenPage(props: { viewer: Viewer; token: TokenView }) {
  const { token, viewer } = props;
  return (
    <Layout title={`Revoke ${token.name}`} viewer={viewer}>
      <p><a href="/tokens">← Tokens</a></p>
      <h1>Revoke token "{token.name}"?</h1>
      <p>
        Role {token.role}, {token.project ? `project ${token.project}` : 'every project'}. Revoking ends its API calls, streams and dashboard sessions at once, and cannot be undone.
        {token.name === viewer.principal.name && ' This is the token you are signed in with: you will be signed out.'}
      </p>
      <div class="actions">
        <ActionButton action={`/tokens/${encodeURIComponent(token.name)}/revoke`} csrf={viewer.csrf} label={`Revoke ${token.name}`} />
        <a href="/tokens">Cancel</a>
      </div>
    </Layout>
  );
}
