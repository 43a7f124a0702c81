import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SECRET_KEY_BYTES, SecretBox, SecretKeyError, secretKeyOf } from './secret-box.js';

export { SecretKeyError };

export const SECRET_KEY_RULE = `must be ${SECRET_KEY_BYTES} bytes in base64 (44 characters) or hex (64 characters), e.g. from \`openssl rand -base64 32\``;
/** The key file made at first start when no TAPIT_SECRET_KEY is given. */
export const SECRET_KEY_FILE = 'secret.key';

/** A key given as text (base64 or hex), or null when it is not one. */
export function parseSecretKey(text: string): Buffer | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed, 'base64');
    if (bytes.length === SECRET_KEY_BYTES) return bytes;
  }
  return null;
}

/**
 * The scheduler's keys: TAPIT_SECRET_KEY, else the key file in the data folder (made at first
 * start, 0600); TAPIT_SECRET_KEY_PREVIOUS (comma-separated) still opens what older keys sealed.
 * Replicas on one database need the same key: give it to each in TAPIT_SECRET_KEY.
 */
export function loadSecretBox(options: { key?: string; previous?: string; dataDir: string; log?: (line: string) => void }): SecretBox {
  const current = options.key !== undefined ? parseSecretKey(options.key) : keyFile(options.dataDir, options.log);
  if (!current) throw new SecretKeyError(`TAPIT_SECRET_KEY: ${SECRET_KEY_RULE}`);
  const previous = (options.previous ?? '')
    .split(',')
    .filter((text) => text.trim() !== '')
    .map((text) => {
      const bytes = parseSecretKey(text);
      if (!bytes) throw new SecretKeyError(`TAPIT_SECRET_KEY_PREVIOUS: each comma-separated key ${SECRET_KEY_RULE}`);
      return secretKeyOf(bytes);
    });
  return new SecretBox(secretKeyOf(current), previous);
}

/** The key in `dataDir`'s key file, made (0600, never overwritten) when there is none. */
function keyFile(dataDir: string, log?: (line: string) => void): Buffer {
  const path = join(dataDir, SECRET_KEY_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    // `wx`: two processes starting at once never both write; the loser reads the winner's key.
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(SECRET_KEY_BYTES).toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
    log?.(`secret key made in ${path} (0600): keep a copy of it with your database backups; without it, stored secrets cannot be read`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new SecretKeyError(`the secret key file ${path} is open to other users (mode ${mode.toString(8).padStart(4, '0')}): run \`chmod 600 ${path}\``);
  }
  const key = parseSecretKey(readFileSync(path, 'utf8'));
  if (!key) throw new SecretKeyError(`the secret key file ${path} ${SECRET_KEY_RULE}`);
  return key;
}
