import { DomainError } from '../domain/domain-error.js';

/** A page ends at a row; the next page starts after it (its 32-hex id is enough to find its place). */
export const encodeCursor = (row: { id: string }) => Buffer.from(row.id).toString('base64url');

/** The id a cursor points at; refused naming `cursor` when it is not one this API returned. */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!/^[0-9a-f]{32}$/.test(id)) throw new DomainError('VALIDATION_FAILED', 'cursor is not one this API returned', 'cursor');
  return id;
}
