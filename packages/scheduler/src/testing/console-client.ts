import { ConsoleServerFrame, decodeConsoleData } from '@tapit/protocol';
import WebSocket from 'ws';
import { ADMIN_TOKEN } from './test-app.js';

/**
 * A console or exec websocket client that collects binary output and control frames; `opened`
 * rejects with the refusal's status and body when the upgrade is answered otherwise.
 */
export function openConsoleClient(url: string, path: string, token = ADMIN_TOKEN) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const output: Buffer[] = [];
  const frames: ConsoleServerFrame[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) output.push(Buffer.from(decodeConsoleData(new Uint8Array(data as Buffer))!.data));
    else frames.push(ConsoleServerFrame.parse(JSON.parse(data.toString())));
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
  });
  const closed = new Promise<void>((resolve) => ws.on('close', () => resolve()));
  return { ws, output, frames, opened, closed, text: () => Buffer.concat(output).toString() };
}
