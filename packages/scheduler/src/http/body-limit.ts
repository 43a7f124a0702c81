import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

/** What a request's body may hold; a create-task request gets more for its files (tasks/routes.ts). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A body limit answering 413 PAYLOAD_TOO_LARGE past `maxBytes` (`why` says where the limit comes from). */
export function bodyLimitOf(maxBytes: number, why = ''): MiddlewareHandler {
  // The rest of the body is still on the socket: keeping the connection would read it as
  // the next request, so this answer closes it.
  const tooLarge = (c: Context) => c.json({ error: { code: 'PAYLOAD_TOO_LARGE', message: `body must be at most ${maxBytes} bytes${why}` } }, 413, { Connection: 'close' });
  const streamed = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    // A body of a stated length is judged by its header, read from the Node request itself:
    // hono's limit asks for the body stream first, which builds a whole fetch Request for each
    // request (a tenth of a create's CPU), where `c.req.json()` reads the socket directly.
    const length = c.req.header('content-length');
    if (length !== undefined && /^\d+$/.test(length) && c.req.header('transfer-encoding') === undefined) {
      return Number(length) > maxBytes ? tooLarge(c) : next();
    }
    // Chunked or unstated: count the bytes as they come.
    return streamed(c, next);
  };
}
