import type { AgentFrame } from '@tapit/protocol';

/** The live connection as tasks see it; absent while disconnected (the spool keeps the logs). */
export interface Outbox {
  send(frame: AgentFrame): void;
  /** Bytes queued in the socket, to stop reading the spool into memory when the link is slow. */
  bufferedAmount(): number;
  /** The scheduler takes `task.log.chunk` (its welcome said `logChunks`); else lines go as `task.log`. */
  readonly logChunks: boolean;
  /** The scheduler answers `task.env.request` (its welcome said `taskEnv`). */
  readonly taskEnv?: boolean;
}
