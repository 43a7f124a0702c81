import { STATUS_CODES } from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@tapit/protocol';
import { RETRY_AFTER_SECONDS } from './api-error.js';
import type { AuthFailures } from '../auth/auth-failures.js';

/** An HTTP answer, with the API's error body, on a socket that asked to upgrade. */
export function refuseUpgrade(
  socket: Duplex,
  status: number,
  code: ErrorCode,
  message: string,
  field?: string,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } });
  const retryAfter = code === 'DATABASE_UNAVAILABLE' ? `Retry-After: ${RETRY_AFTER_SECONDS}\r\n` : '';
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}${extra}Connection: close\r\n\r\n${body}`,
  );
}

/** Refuses with 429 an upgrade from an address past its failed logins; true if it did. */
export function refuseIfRateLimited(failures: AuthFailures, request: IncomingMessage, socket: Duplex): boolean {
  const wait = failures.retryAfter(request.socket.remoteAddress);
  if (wait === 0) return false;
  const message = `too many failed authentications from your address: try again in ${wait} s`;
  refuseUpgrade(socket, 429, 'RATE_LIMITED', message, undefined, { 'Retry-After': String(wait) });
  return true;
}
