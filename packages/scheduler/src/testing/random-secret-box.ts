import { randomBytes } from 'node:crypto';
import { SecretBox, secretKeyOf } from '../secrets/secret-box.js';

/** A SecretBox with a key of its own, for a test app whose secrets outlive nothing. */
export function randomSecretBox(): SecretBox {
  return new SecretBox(secretKeyOf(randomBytes(32)));
}
