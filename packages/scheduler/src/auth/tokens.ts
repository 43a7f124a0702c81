import { createHash, randomBytes } from 'node:crypto';
import type { CreateTokenRequest, Role, TokenView } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database, TokenRow } from '../db/schema.js';
import { BatchQueue } from '../db/batch-queue.js';
import { isUniqueViolation } from '../db/errors.js';
import { DomainError, notFound } from '../domain/domain-error.js';

/** Who is calling: the token's name, role and project limit. */
export interface Principal {
  name: string;
  role: Role;
  project: string | null;
}

export const hashToken = (secret: string) => createHash('sha256').update(secret).digest('hex');

const newSecret = () => `tapit_${randomBytes(24).toString('base64url')}`;

function toView(row: TokenRow): TokenView {
  return {
    name: row.name,
    role: row.role as Role,
    project: row.project,
    createdAt: row.created_at.toISOString(),
    revokedAt: row.revoked_at ? row.revoked_at.toISOString() : null,
  };
}

/**
 * At first start, TAPIT_BOOTSTRAP_TOKEN becomes the admin token named "bootstrap"; later starts
 * only compare: `differs` when the variable no longer matches the stored token (which stays the
 * one that works), `revoked` when the stored token was revoked.
 */
export async function ensureBootstrapToken(db: Kysely<Database>, secret: string): Promise<'created' | 'same' | 'differs' | 'revoked'> {
  const inserted = await db
    .insertInto('tokens')
    .values({ name: 'bootstrap', role: 'admin', project: null, token_hash: hashToken(secret), created_by: null })
    .onConflict((oc) => oc.doNothing())
    .returning('name')
    .executeTakeFirst();
  if (inserted) return 'created';
  const stored = await db.selectFrom('tokens').select(['token_hash', 'revoked_at']).where('name', '=', 'bootstrap').executeTakeFirst();
  if (stored && stored.token_hash !== hashToken(secret)) return 'differs';
  return stored?.revoked_at ? 'revoked' : 'same';
}

/** One line when TAPIT_BOOTSTRAP_TOKEN does not do what its setter may think. */
export function logBootstrapToken(state: Awaited<ReturnType<typeof ensureBootstrapToken>>, log: (line: string) => void): void {
  const recovery = 'to get a new admin token, run `tapit-scheduler create-admin-token [NAME]` against this database';
  if (state === 'differs') {
    log(`TAPIT_BOOTSTRAP_TOKEN differs from the bootstrap token stored at first start, which stays the one that works (the variable is read only once); ${recovery}`);
  } else if (state === 'revoked') {
    log(`the bootstrap token was revoked: TAPIT_BOOTSTRAP_TOKEN gives no access any more; ${recovery}`);
  }
}

/** The principal behind a secret; revoked tokens are looked up like unknown ones. */
export async function authenticate(db: Kysely<Database>, secret: string): Promise<Principal | undefined> {
  return (await authenticateAll(db, [secret]))[0];
}

/** `authenticate` for several secrets in one query, in their order. */
export async function authenticateAll(db: Kysely<Database>, secrets: readonly string[]): Promise<(Principal | undefined)[]> {
  const hashes = secrets.map(hashToken);
  const rows = await db
    .selectFrom('tokens')
    .select(['token_hash', 'name', 'role', 'project'])
    .where('token_hash', 'in', [...new Set(hashes)])
    .where('revoked_at', 'is', null)
    .execute();
  const byHash = new Map(rows.map((row) => [row.token_hash, { name: row.name, role: row.role as Role, project: row.project }]));
  return hashes.map((hash) => byHash.get(hash));
}

/**
 * Token lookups of concurrent requests, one query per batch (a create's own round trip was one
 * of its ~11). Still read from the database for every request, after it arrived (a batch never
 * answers a request that came in while it was in flight): a revoked token fails at once.
 */
export function tokenLookups(db: Kysely<Database>): BatchQueue<string, Principal | undefined> {
  return new BatchQueue({
    commit: async (secrets) => (await authenticateAll(db, secrets)).map((value) => ({ ok: true, value })),
    // A failed lookup is the database's failure, not one token's: no use trying each alone.
    retryAlone: () => false,
  });
}

export async function createToken(db: Kysely<Database>, body: CreateTokenRequest, by: string) {
  // A token for a project that does not exist yet would start working once someone creates it.
  if (body.project !== undefined) {
    const project = await db.selectFrom('projects').select('name').where('name', '=', body.project).executeTakeFirst();
    if (!project) throw new DomainError('NOT_FOUND', `project "${body.project}" not found: create it first (tapit create project ${body.project})`, 'project');
  }
  const secret = newSecret();
  try {
    const row = await db
      .insertInto('tokens')
      .values({ name: body.name, role: body.role, project: body.project ?? null, token_hash: hashToken(secret), created_by: by })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ...toView(row), token: secret };
  } catch (error) {
    if (isUniqueViolation(error)) throw new DomainError('CONFLICT', `a token named "${body.name}" already exists`, 'name');
    throw error;
  }
}

export async function listTokens(db: Kysely<Database>): Promise<TokenView[]> {
  const rows = await db.selectFrom('tokens').selectAll().orderBy('name').execute();
  return rows.map(toView);
}

export async function revokeToken(db: Kysely<Database>, name: string): Promise<void> {
  const result = await db
    .updateTable('tokens')
    .set({ revoked_at: new Date() })
    .where('name', '=', name)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (result.numUpdatedRows === 0n) throw notFound(`active token "${name}"`);
}
