import WebSocket from 'ws';
import { apiErrorFrom, unreachable, type ApiClient, type Query } from './api-client.js';

/** Far more than a console needs (a keystroke, a screenful); matches the scheduler's own limit. */
const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * Opens a console or exec websocket with the user's token. The scheduler checks everything
 * (token, role, task state) before upgrading and refuses with the API's error body, so a
 * refusal becomes the same one-line ApiError as any other call's.
 */
export function openConsoleSocket(client: ApiClient, path: string, query: Query): Promise<WebSocket> {
  const url = client.url(path, query).replace(/^http/, 'ws');
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, {
      headers: client.identityHeaders,
      maxPayload: MAX_MESSAGE_BYTES,
      // Keystrokes are a few bytes: compressing them only adds latency.
      perMessageDeflate: false,
      // wss:// to a scheduler behind TLS trusts what the API client trusts (TAPIT_CA_FILE).
      ...(client.ca ? { ca: client.ca } : {}),
    });
    socket.once('open', () => {
      socket.removeAllListeners('error');
      // Frames that come with the upgrade's answer wait for the session to listen (run() resumes).
      socket.pause();
      resolve(socket);
    });
    socket.once('unexpected-response', (_request, response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => reject(apiErrorFrom(response.statusCode ?? 0, response.statusMessage ?? '', url, text)));
      response.on('error', () => reject(apiErrorFrom(response.statusCode ?? 0, response.statusMessage ?? '', url, text)));
    });
    socket.once('error', (error) => reject(unreachable(client.baseUrl, error)));
  });
}
