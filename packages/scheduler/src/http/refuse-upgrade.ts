import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '@tapit/protocol';
import { RETRY_AFTER_SECONDS } from './api-error.js';

/** An HTTP answer, with the API's error body, on a socket that asked to upgrade. */
export function refuseUpgrade(socket: Duplex, status: number, code: ErrorCode, message: string, field?: string): void {
  const body = JSON.stringify({ error: { code, message, ...(field ? { field } : {}) } });
  const retryAfter = code === 'DATABASE_UNAVAILABLE' ? `Retry-After: ${RETRY_AFTER_SECONDS}\r\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retryAfter}Connection: close\r\n\r\n${body}`,
  );
}
