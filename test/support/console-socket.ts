import { ConsoleChannel, ConsoleServerFrame, decodeConsoleData, encodeConsoleData } from '@tapit/protocol';
import WebSocket from 'ws';

/** A console session driven over its websocket directly (no terminal): what came back, and a way to type. */
export interface ConsoleSocket {
  type(text: string): void;
  /** Everything the program wrote so far. */
  screen(): string;
  /** The program's exit code once it ended (undefined until then). */
  exitCode(): number | null | undefined;
  closed: Promise<void>;
  /** Ends the session's socket abruptly (a client that vanished). */
  terminate(): void;
}

/** Opens `/v1/tasks/:id/console` on a scheduler with its token. */
export async function openConsoleSocket(scheduler: { url: string; token: string }, taskId: string): Promise<ConsoleSocket> {
  const ws = new WebSocket(`${scheduler.url.replace(/^http/, 'ws')}/v1/tasks/${taskId}/console?cols=100&rows=30`, {
    headers: { authorization: `Bearer ${scheduler.token}` },
    perMessageDeflate: false,
  });
  let screen = '';
  let exitCode: number | null | undefined;
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) {
      const decoded = decodeConsoleData(new Uint8Array(data));
      if (decoded) screen += Buffer.from(decoded.data).toString('utf8');
      return;
    }
    const frame = ConsoleServerFrame.safeParse(JSON.parse(data.toString()));
    if (frame.success && frame.data.type === 'exited') exitCode = frame.data.exitCode;
  });
  ws.on('error', () => ws.terminate());
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_request, response) => reject(new Error(`console refused: ${response.statusCode}`)));
    ws.once('error', reject);
  });
  return {
    type: (text) => ws.send(encodeConsoleData(ConsoleChannel.stdin, Buffer.from(text))),
    screen: () => screen,
    exitCode: () => exitCode,
    closed,
    terminate: () => ws.terminate(),
  };
}
