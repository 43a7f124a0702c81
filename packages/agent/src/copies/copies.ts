import { pipeline } from 'node:stream';
import WebSocket, { createWebSocketStream } from 'ws';
import type { CopyHead, TaskCopy } from '@tapit/protocol';
import { CopyError, type TaskDriver, type TaskHandle } from '../drivers/driver.js';
import { errorMessage, log } from '../log.js';

/** The scheduler gives up on a dial-back after 15 s. */
const DIAL_TIMEOUT_MS = 10_000;

export interface CopiesOptions {
  driver: Pick<TaskDriver, 'copyFile'>;
  /** The container of a task this agent holds, running or kept after its end (null: none). */
  handleOf(taskId: string): TaskHandle | null;
  /** The dial-back URL of a copy. */
  urlFor(copyId: string): string;
  token: string;
  ca?: string[];
}

/**
 * Answers `task.copy` (`tapit cp`): dials back a websocket of its own for the copy, says what the
 * file is (or why there is none), then sends its bytes as the engine gives them, only as fast as
 * the socket takes them (the websocket stream waits for each write), and closes.
 */
export class Copies {
  constructor(private readonly options: CopiesOptions) {}

  open(frame: TaskCopy): void {
    log('copy.open', { copy: frame.copyId, task: frame.taskId, path: frame.path });
    const ws = new WebSocket(this.options.urlFor(frame.copyId), {
      headers: { Authorization: `Bearer ${this.options.token}` },
      handshakeTimeout: DIAL_TIMEOUT_MS,
      maxPayload: 64 * 1024,
      ...(this.options.ca ? { ca: this.options.ca } : {}),
    });
    ws.once('open', () => void this.serve(ws, frame).catch((error) => log('copy.error', { copy: frame.copyId, error: errorMessage(error) })));
    ws.on('unexpected-response', (_req, res) => {
      log('copy.dial-refused', { copy: frame.copyId, status: res.statusCode });
      ws.terminate();
    });
    ws.on('error', (error) => log('copy.dial-failed', { copy: frame.copyId, error: errorMessage(error) }));
  }

  private async serve(ws: WebSocket, frame: TaskCopy): Promise<void> {
    const refuse = (head: Extract<CopyHead, { type: 'copy.error' }>) => ws.send(JSON.stringify(head), () => ws.close(1000));
    const handle = this.options.handleOf(frame.taskId);
    if (!handle) {
      return refuse({ type: 'copy.error', code: 'CONTAINER_GONE', message: 'it was removed when the task ended (create the task with keep=DURATION to copy from it after its end)' });
    }
    if (!this.options.driver.copyFile) return refuse({ type: 'copy.error', code: 'FAILED', message: "this agent's driver cannot copy files" });
    let file;
    try {
      file = await this.options.driver.copyFile(handle, frame.path, frame.maxBytes);
    } catch (error) {
      if (error instanceof CopyError) return refuse({ type: 'copy.error', code: error.code, message: error.message.slice(0, 4000) });
      return refuse({ type: 'copy.error', code: 'FAILED', message: errorMessage(error).slice(0, 4000) });
    }
    ws.send(JSON.stringify({ type: 'copy.file', size: file.size, mode: file.mode } satisfies CopyHead));
    const out = createWebSocketStream(ws);
    pipeline(file.bytes, out, (error) => {
      if (error) {
        log('copy.failed', { copy: frame.copyId, error: errorMessage(error) });
        ws.terminate();
      } else log('copy.sent', { copy: frame.copyId, bytes: file.size });
    });
  }
}
