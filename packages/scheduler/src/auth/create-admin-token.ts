import { Name } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import { recordAudit } from '../audit/record.js';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { DomainError } from '../domain/domain-error.js';
import { createToken } from './tokens.js';

/** A NAME the operator must change: one line, exit code 2. */
export class AdminTokenNameError extends Error {}

/** `admin-20250317-095834`: unique enough for a recovery token made by hand. */
export const defaultAdminTokenName = (now = new Date()) => `admin-${now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;

/**
 * `tapit-scheduler create-admin-token [NAME]`: a new admin token for all projects, made straight
 * in the database, for when every admin token is lost or revoked (the API needs one to make one).
 */
export async function createAdminToken(db: Kysely<Database>, name: string): Promise<string> {
  const checked = Name.safeParse(name);
  if (!checked.success) throw new AdminTokenNameError(`NAME "${name}": ${checked.error.issues[0]?.message}`);
  try {
    // The token and its audit row together, or neither.
    return await inTransaction(db, async (trx) => {
      const created = await createToken(trx, { name, role: 'admin' }, 'tapit-scheduler create-admin-token');
      await recordAudit(trx, { actor: 'tapit-scheduler', action: 'token.create', targetType: 'token', targetId: name, details: { role: 'admin', via: 'create-admin-token' } });
      return created.token;
    });
  } catch (error) {
    if (error instanceof DomainError && error.code === 'CONFLICT') throw new AdminTokenNameError(`a token named "${name}" already exists: give another NAME`);
    throw error;
  }
}
