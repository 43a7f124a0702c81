import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/** A sealed value names its key, so a rotated key's values stay readable: `v1.KEYID.DATA`. */
const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SECRET_KEY_BYTES = 32;

/** A key in use: its 32 bytes and the short id sealed values carry. */
export interface SecretKey {
  id: string;
  bytes: Buffer;
}

/** A key file or setting that cannot be used; the message says how to fix it (exit code 2). */
export class SecretKeyError extends Error {}

/** A sealed value this scheduler cannot open: its key is not among the ones it was given. */
export class SecretKeyMissingError extends SecretKeyError {}

/** The id of a key: not the key, and not a way to guess it (a hash of it, cut short). */
export function secretKeyOf(bytes: Buffer): SecretKey {
  if (bytes.length !== SECRET_KEY_BYTES) throw new Error(`a secret key is ${SECRET_KEY_BYTES} bytes, not ${bytes.length}`);
  return { id: createHash('sha256').update('tapit secret key\0').update(bytes).digest('hex').slice(0, 8), bytes };
}

/**
 * Seals and opens the values the scheduler must keep secret at rest (app secrets, registry
 * passwords): AES-256-GCM with a fresh IV each time, bound to a context (e.g. the row it belongs
 * to) so a sealed value copied into another row does not open. New values are sealed with the
 * current key; values sealed with a previous key still open, and `isCurrent` says which ones a
 * rotation should seal again.
 */
export class SecretBox {
  private readonly keys = new Map<string, SecretKey>();

  constructor(
    private readonly current: SecretKey,
    previous: SecretKey[] = [],
  ) {
    for (const key of [current, ...previous]) this.keys.set(key.id, key);
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.bytes, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${this.current.id}.${data.toString('base64url')}`;
  }

  /** The value sealed; throws SecretKeyMissingError for a key it lacks, Error for a damaged value. */
  open(sealed: string, context: string): string {
    const [version, keyId, encoded] = sealed.split('.');
    if (version !== VERSION || !keyId || encoded === undefined) throw new Error('not a sealed secret');
    const key = this.keys.get(keyId);
    if (!key) {
      throw new SecretKeyMissingError(
        `a secret was sealed with key ${keyId}, which this scheduler does not have: give it in TAPIT_SECRET_KEY or TAPIT_SECRET_KEY_PREVIOUS (every replica needs the same keys)`,
      );
    }
    const data = Buffer.from(encoded, 'base64url');
    if (data.length < IV_BYTES + TAG_BYTES) throw new Error('a sealed secret is damaged (too short)');
    const decipher = createDecipheriv('aes-256-gcm', key.bytes, data.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(`a sealed secret does not open with key ${keyId}: damaged, or moved from another row`);
    }
  }

  /**
   * A value derived from each key for `purpose` (HMAC-SHA256, hex), the current key's first: a
   * credential every replica with the same keys can make and check, and nothing else can.
   */
  derive(purpose: string): string[] {
    const current = this.keys.get(this.current.id)!;
    return [current, ...[...this.keys.values()].filter((k) => k !== current)].map((key) => createHmac('sha256', key.bytes).update(`tapit ${purpose}`).digest('hex'));
  }

  /** Whether `sealed` is sealed with the current key (else a rotation seals it again). */
  isCurrent(sealed: string): boolean {
    return sealed.split('.')[1] === this.current.id;
  }
}
