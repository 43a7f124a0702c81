import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether the upgrade carries the join token, compared in constant time. */
export function presentsJoinToken(request: IncomingMessage, expected: string | undefined): boolean {
  const presented = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  return expected !== undefined && presented !== undefined && timingSafeEqual(digest(presented), digest(expected));
}
