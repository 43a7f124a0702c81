import { DomainError } from '../domain/domain-error.js';

/** A 32-hex id (tasks, schedules, deliveries). */
const HEX_ID = /^[0-9a-f]{32}$/;

/** A page ends at a row; the next page starts after it (its id is enough to find its place). */
export const encodeCursor = (row: { id: string | number }) => Buffer.from(String(row.id)).toString('base64url');

/** The id a cursor points at; refused naming `cursor` when it is not one this API returned. */
export function decodeCursor(cursor: string, shape: RegExp = HEX_ID): string {
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!shape.test(id)) throw new DomainError('VALIDATION_FAILED', 'cursor is not one this API returned', 'cursor');
  return id;
}
