import { z } from 'zod';
import { TaskId } from '../common/ids.js';
import { ExitCode } from '../common/status.js';

/*
 * Console streams: one websocket per console or exec session, the same frames end to end
 * (CLI ⇄ scheduler ⇄ agent), so the scheduler relays without re-encoding. Bytes travel as
 * binary messages whose first byte names the channel; control travels as JSON text messages.
 */

/** First byte of a binary message. */
export const ConsoleChannel = { stdin: 0, stdout: 1, stderr: 2 } as const;
export type ConsoleChannel = (typeof ConsoleChannel)[keyof typeof ConsoleChannel];

/** Prefixes `data` with its channel byte. */
export function encodeConsoleData(channel: ConsoleChannel, data: Uint8Array): Uint8Array {
  const message = new Uint8Array(data.length + 1);
  message[0] = channel;
  message.set(data, 1);
  return message;
}

/** Splits a binary message into its channel and bytes; undefined for an unknown channel. */
export function decodeConsoleData(message: Uint8Array): { channel: ConsoleChannel; data: Uint8Array } | undefined {
  const channel = message[0];
  if (channel !== 0 && channel !== 1 && channel !== 2) return undefined;
  return { channel, data: message.subarray(1) };
}

export const TerminalSize = z.object({
  cols: z.number().int().min(1).max(1000),
  rows: z.number().int().min(1).max(1000),
});
export type TerminalSize = z.infer<typeof TerminalSize>;

/** Client → (scheduler →) agent control. */
export const ConsoleClientFrame = z.discriminatedUnion('type', [
  TerminalSize.extend({ type: z.literal('resize') }),
  /** Leave the console running (the detach key sequence, or a client going away cleanly). */
  z.object({ type: z.literal('detach') }),
  /** End of standard input (pipes only: an exec without a TTY). */
  z.object({ type: z.literal('stdin.close') }),
]);
export type ConsoleClientFrame = z.infer<typeof ConsoleClientFrame>;

/** Agent → (scheduler →) client control. */
export const ConsoleServerFrame = z.discriminatedUnion('type', [
  /**
   * The session is live; `replayed` bytes of recent screen output follow first (attach).
   * `offset`: where the first of them stands in all the console printed since it started, so a
   * client reconnecting skips what it already showed (absent from execs and older agents).
   * `inputReceived`: the keyboard bytes the console took so far from the client that opened the
   * session (its `client`), when an earlier session of that client attached to this console:
   * the client sends again only what came after (keys in flight when its link broke).
   */
  z.object({
    type: z.literal('attached'),
    sessionId: z.string(),
    replayed: z.number().int().nonnegative(),
    offset: z.number().int().nonnegative().optional(),
    inputReceived: z.number().int().nonnegative().optional(),
  }),
  /** The program ended: a console's task exited, or an exec's command did. */
  z.object({ type: z.literal('exited'), exitCode: ExitCode.nullable() }),
  /** The session could not be opened or broke; the message says why. */
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type ConsoleServerFrame = z.infer<typeof ConsoleServerFrame>;

/** Names one client (one `tapit run`) across the sessions it opens to a console: 32 hex digits. */
export const ConsoleClientId = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 hexadecimal digits');

/** What the CLI asks for when it opens `/v1/tasks/:id/console` (attach) or `/exec`. */
export const OpenConsoleQuery = z.strictObject({
  cols: z.coerce.number().int().min(1).max(1000).default(80),
  rows: z.coerce.number().int().min(1).max(1000).default(24),
  /** exec: the command, as a JSON array of strings. */
  command: z.string().max(65536).optional(),
  /** exec: whether to allocate a TTY ("1") or use plain pipes ("0"). */
  tty: z.enum(['0', '1']).default('1'),
  /** attach: an id the client picks once and keeps across its reconnects (see `attached.inputReceived`). */
  client: ConsoleClientId.optional(),
});

/** Scheduler → agent over the control websocket: dial back for this session and serve it. */
export const ConsoleOpen = z.object({
  type: z.literal('console.open'),
  sessionId: z.string().regex(/^[0-9a-f]{32}$/),
  taskId: TaskId,
  mode: z.enum(['attach', 'exec']),
  command: z.array(z.string().refine((s) => !s.includes('\0'), 'must not contain NUL bytes')).nullable(),
  tty: z.boolean(),
  size: TerminalSize,
  /** Who opened it, for the agent's log. */
  openedBy: z.string(),
  /** attach: the client's id (OpenConsoleQuery.client), absent when it gave none. */
  client: ConsoleClientId.optional(),
});
export type ConsoleOpen = z.infer<typeof ConsoleOpen>;

/** Path the agent dials back on for a session's stream. */
export const consoleStreamPath = (sessionId: string) => `/v1/agents/consoles/${sessionId}`;
