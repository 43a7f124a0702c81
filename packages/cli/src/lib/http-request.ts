import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/*
 * One HTTP request on node:http, for the API client. Not fetch: in Node 20, fetch's first use
 * loads undici (~35 ms) and its pooled socket holds a short-lived process open ~70 ms after the
 * last answer, which together were a third of a one-line command's time. Node's own agent
 * unrefs a kept-alive socket, so the process exits as soon as its work is done.
 */

export interface HttpAnswer {
  status: number;
  statusText: string;
  url: string;
  ok: boolean;
  headers: IncomingHttpHeaders;
  /** The body as it arrives (an async iterable of Buffers). */
  body: IncomingMessage;
  /** The whole body as text. */
  text(): Promise<string>;
}

export interface HttpRequestInit {
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /** Certificate authorities to trust for https (replacing Node's own list; see tls-trust.ts). */
  ca?: string[];
  /** Called once the whole request is in the operating system's hands (connected and written), or has failed. */
  onSent?: () => void;
}

/** Longest silence on a connection before it counts as dead (as fetch's default body timeout). */
const IDLE_TIMEOUT_MS = 300_000;
/** Longest wait for a connection (as fetch's): a firewalled host fails in seconds, not minutes. */
const CONNECT_TIMEOUT_MS = 10_000;

export function sendRequest(url: string, init: HttpRequestInit): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers = { ...init.headers };
  if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
  return new Promise((resolve, reject) => {
    const tls = init.ca && target.protocol === 'https:' ? { ca: init.ca } : {};
    const req = send(target, { method: init.method, headers, signal: init.signal, ...tls }, (res) => {
      const status = res.statusCode ?? 0;
      resolve({
        status,
        statusText: res.statusMessage ?? '',
        url,
        ok: status >= 200 && status < 300,
        headers: res.headers,
        body: res,
        text: () => readText(res),
      });
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
    req.once('socket', (socket) => {
      if (!socket.connecting) return; // a kept-alive connection
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => clearTimeout(timer));
      req.once('close', () => clearTimeout(timer));
    });
    // Node's advice for a kept-alive connection the server closed as it was reused: say so, and
    // the caller may send an idempotent request again.
    req.on('error', (error) => reject(req.reusedSocket ? Object.assign(error, { reusedSocket: true }) : error));
    if (init.onSent) tellWhenSent(req, init.onSent);
    req.end(init.body);
  });
}

/**
 * `finish` alone means the request is written to its socket, which may still be connecting and
 * hold it: a process that then blocks (loading the CLI) or dies would not have sent it.
 */
function tellWhenSent(req: ClientRequest, onSent: () => void): void {
  let told = false;
  let finished = false;
  const tell = () => {
    if (!told) (told = true), onSent();
  };
  const check = () => {
    const socket = req.socket;
    if (finished && socket && !socket.connecting && socket.writableLength === 0) tell();
  };
  req.once('finish', () => ((finished = true), check()));
  req.once('error', tell);
  req.once('socket', (socket) => {
    // After the socket's own `connect` handler, which writes what waited for the connection.
    socket.once('connect', () => setImmediate(check));
    socket.once('drain', check);
  });
}

/** The request failed on a kept-alive connection that was gone before it answered anything. */
export function failedOnReusedConnection(error: unknown): boolean {
  const { reusedSocket, code } = (error ?? {}) as { reusedSocket?: boolean; code?: string };
  return reusedSocket === true && (code === 'ECONNRESET' || code === 'EPIPE');
}

async function readText(res: IncomingMessage): Promise<string> {
  // Decoded once at the end: a page of log is megabytes, and a string grown a piece at a time costs its copies.
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
