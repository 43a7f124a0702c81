import { bodyLimit } from 'hono/body-limit';

/** What a request's body may hold; a create-task request gets more for its files (tasks/routes.ts). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** A body limit answering 413 PAYLOAD_TOO_LARGE past `maxBytes` (`why` says where the limit comes from). */
export function bodyLimitOf(maxBytes: number, why = '') {
  return bodyLimit({
    maxSize: maxBytes,
    // The rest of the body is still on the socket: keeping the connection would read it as
    // the next request, so this answer closes it.
    onError: (c) => c.json({ error: { code: 'PAYLOAD_TOO_LARGE', message: `body must be at most ${maxBytes} bytes${why}` } }, 413, { Connection: 'close' }),
  });
}
