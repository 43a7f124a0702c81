import { ConsoleServerFrame, decodeConsoleData, type SchedulerFrame, copyStreamPath } from '@tapit/protocol';
import WebSocket from 'ws';
import { ADMIN_TOKEN } from './test-app.js';

const wsUrl = (url: string) => url.replace(/^http/, 'ws');

/**
 * A console or exec websocket client that collects binary output and control frames; `opened`
 * rejects with the refusal's status and body when the upgrade is answered otherwise.
 */
export function openConsoleClient(url: string, path: string, token = ADMIN_TOKEN, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`${wsUrl(url)}${path}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
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

/** The agent's side of a session it was asked to open (`console.open`): dials back with its credential, collecting what it is sent. */
export async function dialBack(url: string, credential: string, open: Extract<SchedulerFrame, { type: 'console.open' }>) {
  const stream = new WebSocket(`${wsUrl(url)}/v1/agents/consoles/${open.sessionId}`, { headers: { authorization: `Bearer ${credential}` } });
  const received: (Buffer | string)[] = [];
  stream.on('message', (data, isBinary) => received.push(isBinary ? Buffer.from(data as Buffer) : data.toString()));
  await new Promise((resolve, reject) => {
    stream.once('open', resolve);
    stream.once('error', reject);
  });
  return { open, stream, received };
}

/** As an agent answers `task.copy`: dials back, says the file's size and mode, sends its bytes and closes. */
export async function answerCopy(url: string, credential: string, copy: Extract<SchedulerFrame, { type: 'task.copy' }>, bytes: Buffer): Promise<void> {
  const stream = new WebSocket(`${wsUrl(url)}${copyStreamPath(copy.copyId)}`, { headers: { authorization: `Bearer ${credential}` } });
  await new Promise((resolve, reject) => {
    stream.once('open', resolve);
    stream.once('error', reject);
  });
  stream.send(JSON.stringify({ type: 'copy.file', size: bytes.length, mode: 0o644 }));
  stream.send(bytes);
  stream.close(1000);
}
