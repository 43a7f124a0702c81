import { configPath, readLoginSync } from './config.js';
import { UsageError } from './errors.js';
import { trustedCas } from './tls-trust.js';

/** Where the CLI sends its requests and what they present. */
export interface ConnectionSettings {
  url: string;
  token: string;
  /** Certificate authorities for https (TAPIT_CA_FILE). */
  ca?: string[];
  /** Who is behind the token (TAPIT_INITIATED_BY). */
  initiatedBy?: string;
}

/** C0 and C1 control characters and DEL, which the scheduler refuses in an initiator's name. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** TAPIT_INITIATED_BY: who is behind a shared token, in the audit trail of every change the CLI makes. */
export function initiatedByOf(env: NodeJS.ProcessEnv): string | undefined {
  const value = env.TAPIT_INITIATED_BY?.trim();
  if (!value) return undefined;
  if (CONTROL_CHARACTERS.test(value)) throw new UsageError('Invalid TAPIT_INITIATED_BY: must not contain control characters (escape sequences, tabs, line breaks)');
  return value;
}

/**
 * TAPIT_URL and TAPIT_TOKEN override the stored login, each on its own; TAPIT_CA_FILE (and a
 * NODE_EXTRA_CA_CERTS the launcher handed over) add CAs for https (tls-trust.ts);
 * TAPIT_INITIATED_BY names who is behind the token. Synchronous and free of zod and the protocol:
 * the early start (src/early/) resolves them by these same rules before it loads either.
 */
export function connectionSettings(env: NodeJS.ProcessEnv = process.env): ConnectionSettings {
  const stored = env.TAPIT_URL && env.TAPIT_TOKEN ? null : readLoginSync(configPath(env));
  const url = env.TAPIT_URL || stored?.url;
  const token = env.TAPIT_TOKEN || stored?.token;
  if (!url || !token) {
    throw new UsageError('Not logged in: run tapit login, or set TAPIT_URL and TAPIT_TOKEN');
  }
  const ca = trustedCas(url, env);
  const initiatedBy = initiatedByOf(env);
  return { url, token, ...(ca ? { ca } : {}), ...(initiatedBy ? { initiatedBy } : {}) };
}
