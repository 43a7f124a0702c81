import { IdempotencyKey } from '@tapit/protocol';
import { parseValue } from '../http/validate.js';
import { requestFingerprint } from '../idempotency/create-once.js';
import { keyHash } from '../idempotency/seal.js';
import type { CreateTaskItem } from '../tasks/create-batch.js';

/**
 * A create form's Idempotency-Key: a hidden field made with the form, so a form sent twice (a
 * double click, a resend) answers the first task instead of creating another, as the CLI's retry
 * does. `request` is the body the API would have received at `apiPath`, for the fingerprint.
 */
export function formIdempotency(keyText: string, apiPath: string, request: unknown): CreateTaskItem['idempotency'] {
  if (keyText === '') return null;
  const key = parseValue(keyText, IdempotencyKey);
  return { key, keyHash: keyHash(key), fingerprint: requestFingerprint('POST', apiPath, request) };
}
