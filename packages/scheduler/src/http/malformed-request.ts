import { createServer, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { getRequestListener, RequestError } from '@hono/node-server';
import { refuseUpgrade } from './refuse-upgrade.js';

type ParseError = Error & { code?: string; reason?: string };

/**
 * The server's `clientError`: a request Node's HTTP parser refuses (a bad request line, header,
 * length or chunk; headers past 16 KiB) is answered with the API's error body too, not Node's
 * bare status line, and its connection closed. A client too slow to send its request keeps
 * Node's own 408: it gave no request to speak of and is likely not reading.
 */
export function answerMalformedRequest(error: ParseError, socket: Duplex): void {
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  // Nothing can be written to a connection that is gone, or in the middle of an answer.
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n');
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    refuseUpgrade(socket, 431, 'PAYLOAD_TOO_LARGE', 'the request line and headers must be at most 16 KiB');
  } else if (error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') {
    refuseUpgrade(socket, 413, 'PAYLOAD_TOO_LARGE', 'chunk extensions are too large');
  } else {
    refuseUpgrade(socket, 400, 'VALIDATION_FAILED', `malformed HTTP request${error.reason ? `: ${error.reason}` : ''}`);
  }
  // Once the answer is written: the rest of what the client sends is not HTTP we can read.
  (socket as Socket).destroySoon();
}

/** The server's `connect`: a proxy tunnel request, which Node would drop without a word. */
export function refuseConnect(_request: unknown, socket: Duplex): void {
  socket.on('error', () => socket.destroy());
  refuseUpgrade(socket, 404, 'NOT_FOUND', 'no route for CONNECT: this is not a proxy');
  (socket as Socket).destroySoon();
}

/**
 * node:http's createServer for @hono/node-server's `serve`, whose own request listener answers a
 * request target it cannot make a URL of (not a path, a backslash in the path, a bad Host) with
 * a bare 400: this one answers it with the API's error body. (`serve` passes its listener as
 * the second argument; this server has its own.)
 */
export function apiServerFactory(fetch: (request: Request, env: unknown) => Response | Promise<Response>, hostname: string): typeof createServer {
  const listener = getRequestListener(fetch, {
    hostname,
    errorHandler: (error) =>
      error instanceof RequestError
        ? Response.json({ error: { code: 'VALIDATION_FAILED', message: `malformed request: ${error.message}` } }, { status: 400, headers: { connection: 'close' } })
        : Response.json({ error: { code: 'INTERNAL', message: 'internal error' } }, { status: 500 }),
  });
  return ((options: ServerOptions) => createServer(options, listener)) as typeof createServer;
}
