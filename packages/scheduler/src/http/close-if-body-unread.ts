import type { IncomingMessage } from 'node:http';
import type { MiddlewareHandler } from 'hono';

/**
 * An answer given before the request's body has all arrived (a refusal by token, role or path)
 * closes its connection: the rest of the body would otherwise wait on the socket in front of the
 * client's next request, which is then dropped.
 */
export const closeIfBodyUnread: MiddlewareHandler = async (c, next) => {
  await next();
  // Served by node only; `app.request()` in tests has no connection.
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && !incoming.complete) c.header('Connection', 'close');
};
