import WebSocket from 'ws';
import type { ConsoleServerFrame, SchedulerFrame } from '@tapit/protocol';
import { errorMessage, log } from '../log.js';

type ConsoleOpen = Extract<SchedulerFrame, { type: 'console.open' }>;

/**
 * Consoles and exec are not implemented by this agent yet (its driver declares no `tty`/`exec`
 * capability). Rather than leave the user waiting, dial back as the protocol asks and say so.
 */
export function refuseConsole(url: string, token: string, frame: ConsoleOpen, why: string): void {
  log('console.refused', { session: frame.sessionId, task: frame.taskId, mode: frame.mode, openedBy: frame.openedBy, why });
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, handshakeTimeout: 10_000 });
  const error: ConsoleServerFrame = { type: 'error', message: why };
  ws.on('open', () => ws.send(JSON.stringify(error), () => ws.close(1000)));
  ws.on('error', (e) => log('console.dial-failed', { session: frame.sessionId, error: errorMessage(e) }));
  setTimeout(() => ws.terminate(), 15_000).unref();
}
