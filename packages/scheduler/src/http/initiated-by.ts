import { INITIATED_BY_HEADER, INITIATED_BY_MAX_CHARS } from '@tapit/protocol';
import type { MiddlewareHandler } from 'hono';
import { boundText } from '../audit/record.js';
import { ApiError } from './api-error.js';
import type { HonoEnv } from './context.js';

/** C0 and C1 control characters and DEL: what would act on a terminal listing the audit trail. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

const refused = (why: string) => new ApiError('VALIDATION_FAILED', `${INITIATED_BY_HEADER}: ${why}`, INITIATED_BY_HEADER);

/**
 * A request's `X-Initiated-By`: percent-decoded UTF-8 without control characters, cut to
 * INITIATED_BY_MAX_CHARS like other client text; null when absent or blank.
 */
export function initiatedByOf(header: string | string[] | undefined): string | null {
  if (Array.isArray(header)) throw refused('give it once');
  if (header === undefined) return null;
  let text: string;
  try {
    text = decodeURIComponent(header).trim();
  } catch {
    throw refused('must be percent-encoded UTF-8, as encodeURIComponent gives (a literal % is %25)');
  }
  if (CONTROL_CHARACTERS.test(text)) throw refused('must not contain control characters (escape sequences, tabs, line breaks)');
  return text === '' ? null : boundText(text, INITIATED_BY_MAX_CHARS);
}

/** Reads the header once per request, so every audit event of the request names the same initiator. */
export const readInitiatedBy: MiddlewareHandler<HonoEnv> = async (c, next) => {
  c.set('initiatedBy', initiatedByOf(c.req.header(INITIATED_BY_HEADER)));
  await next();
};
