import fc from 'fast-check';

/*
 * HTTP/1.1 requests as bytes, most of them malformed in a way no client library would write:
 * bad request lines, header lines, lengths and chunking (smuggling attempts among them). Each is
 * sent on a connection of its own and closes it (`Connection: close`), so the answer ends there.
 */

export interface RawRequest {
  bytes: Buffer;
  /** For a failure message. */
  text: string;
}

const METHODS = ['GET', 'POST', 'DELETE', 'G ET', 'get', 'GET\u0000', 'PRI', 'A'.repeat(200), '', 'ÄÖ', 'CONNECT'];
const TARGETS = [
  '/v1/whoami',
  '/v1/tasks?limit=5',
  '/v1/tasks/a b',
  '/v1/tasks/\t',
  '/v1/tasks/\u0001',
  '/v1/tasks/\u00e9',
  '/v1/t\u00e4sks',
  '/v1/tasks/%',
  '/v1/tasks#frag',
  'http://127.0.0.1/v1/whoami',
  'v1/whoami',
  '*',
  '127.0.0.1:80',
  '//v1//tasks//',
  '/healthz?' + 'a'.repeat(100),
  '',
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1x', 'http/1.1', ''];
const HEADER_LINES = [
  'X-Ok: 1',
  'NoColon',
  ' Folded: continuation',
  'Bad Name: x',
  'X-Nul: a\u0000b',
  'X-High: \u00ff\u00fe',
  'Content-Length: -1',
  'Content-Length: 1, 2',
  'Content-Length: 99999999999999999999',
  'Content-Length: 0x10',
  'Content-Length: 4\r\nContent-Length: 5',
  'Transfer-Encoding: chunked\r\nContent-Length: 4',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: xchunked',
  'Host: a\r\nHost: b',
  'Authorization: Bearer \u0000',
  'Upgrade: websocket',
  `X-Long: ${'b'.repeat(9_000)}`,
];
const BODIES = ['', '{}', '4\r\n{"a"\r\n0\r\n\r\n', 'zz\r\nxx\r\n0\r\n\r\n', '5;' + 'e'.repeat(20_000) + '\r\nhello\r\n0\r\n\r\n', '0\r\n\r\nGET /v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n'];

/** Raw requests, each with Host and `Connection: close`, and zero to three odd header lines. */
export function rawRequests(): fc.Arbitrary<RawRequest> {
  return fc
    .record({
      method: fc.constantFrom(...METHODS),
      target: fc.constantFrom(...TARGETS),
      version: fc.constantFrom(...VERSIONS),
      headers: fc.subarray(HEADER_LINES, { maxLength: 3 }),
      body: fc.constantFrom(...BODIES),
      lineEnd: fc.constantFrom('\r\n', '\r\n', '\n'),
    })
    .map(({ method, target, version, headers, body, lineEnd }) => {
      const text = [`${method} ${target} ${version}`, 'Host: 127.0.0.1', 'Connection: close', ...headers].join(lineEnd) + lineEnd + lineEnd + body;
      // Latin-1: each character one byte, so the odd bytes go out as they are.
      return { bytes: Buffer.from(text, 'latin1'), text };
    });
}
