import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Kysely } from 'kysely';
import type { AuthFailures } from '../auth/auth-failures.js';
import { coerceError } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import { ApiError, toApiError } from '../http/api-error.js';
import { refuseUpgrade } from '../http/refuse-upgrade.js';
import { agentOfCredential, bearerOf } from './agent-auth.js';

/**
 * The agent dialling back a websocket it was asked to open (a console, a copy): its name, from its
 * own credential; undefined once the upgrade was refused (no or a bad credential, counted as a
 * failed login; the database failing). `what` names the dial-back in messages: `console`, `copy`.
 */
export async function dialBackAgent(
  deps: { db: Kysely<Database>; failures: AuthFailures; log: (line: string) => void },
  request: IncomingMessage,
  socket: Duplex,
  what: 'console' | 'copy',
): Promise<string | undefined> {
  const secret = bearerOf(request);
  let agent: string | undefined;
  try {
    agent = secret === undefined ? undefined : await agentOfCredential(deps.db, secret);
  } catch (error) {
    const refusal = toApiError(error) ?? new ApiError('INTERNAL', 'internal error');
    if (refusal.code === 'INTERNAL') deps.log(`${what} dial-back: ${coerceError(error).message}`);
    refuseUpgrade(socket, refusal.status, refusal.code, refusal.message, refusal.field);
    return undefined;
  }
  if (agent === undefined) {
    deps.failures.failed(request.socket.remoteAddress, secret === undefined ? 'missing token' : 'invalid token', `a ${what} dial-back` as const);
    refuseUpgrade(socket, 401, 'UNAUTHORIZED', `a ${what} dial-back needs the agent's own credential`);
  }
  return agent;
}
