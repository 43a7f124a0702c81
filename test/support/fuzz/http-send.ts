import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { ApiErrorBody } from '@tapit/protocol';
import type { FuzzRequest } from './openapi-requests.js';

/** What came back for a request: its status, headers and (the first MiB of) its body. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

const MAX_READ = 1024 * 1024;
/** A request with no answer in this long is a finding (a hang), not a slow machine. */
const ANSWER_TIMEOUT_MS = 30_000;

/** The API's body limit (docs/api.md: 413 PAYLOAD_TOO_LARGE). */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Whether the server may reset the connection instead of answering: a body past the limit that
 * it does not read to the end (a refusal before the body, or a route with none), whose client is
 * still writing when the connection closes.
 */
export const mayBeCutOff = (req: FuzzRequest) => req.body !== undefined && Buffer.byteLength(req.body) > MAX_BODY_BYTES;

/**
 * Sends a generated request over a keep-alive connection of `agent`; one with a body past the
 * limit goes on a connection of its own, which the server may close before the body is all sent.
 */
export function send(baseUrl: string, agent: Agent, req: FuzzRequest): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    // Node's client sends the body of a DELETE or OPTIONS with neither length nor chunking
    // unless told its length: the server would read it as the next request.
    const headers = req.body === undefined ? req.headers : { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) };
    const outgoing = request(
      { host: url.hostname, port: url.port, method: req.method, path: req.target, headers, agent: mayBeCutOff(req) ? false : agent, timeout: ANSWER_TIMEOUT_MS },
      (res) => {
        // A stream (a log follow) answers with its headers first and goes on: its status is enough.
        if (/ndjson/.test(String(res.headers['content-type']))) {
          res.destroy();
          return resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' });
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < MAX_READ) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/**
 * Sends raw bytes as one request on a connection of its own and reads until the server closes it
 * (or the answer is complete): for request lines no HTTP client would write.
 */
export function sendRaw(baseUrl: string, bytes: string | Buffer): Promise<Answer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)), ANSWER_TIMEOUT_MS);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRawAnswer(Buffer.concat(chunks).toString('utf8')));
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (isComplete(Buffer.concat(chunks).toString('utf8'))) finish();
    });
    socket.on('end', finish);
    socket.on('error', (error) => {
      clearTimeout(timer);
      // A reset after a complete answer is the server closing a connection it refused.
      if (chunks.length > 0) return finish();
      reject(error);
    });
    socket.write(bytes);
  });
}

function isComplete(text: string): boolean {
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return false;
  const length = /^content-length:\s*(\d+)/im.exec(text.slice(0, split));
  return length !== null && Buffer.byteLength(text.slice(split + 4)) >= Number(length[1]);
}

function parseRawAnswer(text: string): Answer {
  const split = text.indexOf('\r\n\r\n');
  const head = split < 0 ? text : text.slice(0, split);
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: IncomingHttpHeaders = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, text: split < 0 ? '' : text.slice(split + 4) };
}

/**
 * What is wrong with an answer, or undefined: never a 5xx (nor no answer at all); an error is a
 * 4xx with the API's error body (`{ error: { code, message } }`, a code of the protocol's
 * ErrorCode); a success has a status the description gives for the operation.
 */
export function problemWith(answer: Answer, expected: { method: string; success: number[]; described: boolean }): string | undefined {
  if (answer.status === 0) return 'no HTTP answer';
  if (answer.status >= 500) return `${answer.status}: a server error`;
  if (answer.status < 400) {
    if (!expected.described) return expected.method === 'HEAD' ? undefined : `${answer.status} to a method the description does not give for this path`;
    if (!expected.success.includes(answer.status)) return `${answer.status}, but the description gives ${expected.success.join(' or ')}`;
    return undefined;
  }
  if (expected.method === 'HEAD') return undefined; // no body by definition
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    return `${answer.status} whose body is not JSON`;
  }
  const body = ApiErrorBody.safeParse(json);
  if (!body.success) return `${answer.status} whose body is not the API's error shape { error: { code, message } }`;
  return undefined;
}

/** A request and its answer, for a failure message. */
export function describeExchange(req: { method: string; target: string; headers: Record<string, string>; body?: string }, answer: Answer | undefined, why: string): string {
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} characters)` : s);
  return [
    `${why}`,
    `request: ${req.method} ${cut(req.target, 500)}`,
    `headers: ${cut(JSON.stringify(req.headers), 500)}`,
    ...(req.body !== undefined ? [`body: ${cut(JSON.stringify(req.body), 2000)}`] : []),
    answer ? `answer: ${answer.status} ${cut(answer.text, 2000)}` : 'answer: none',
  ].join('\n');
}
