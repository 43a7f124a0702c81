import { z } from 'zod';
import { TaskId } from '../common/ids.js';
import { ContainerPath } from '../api/tasks.js';

/*
 * `tapit cp TASK:/PATH LOCAL`: the scheduler asks the task's agent with `task.copy` on the control
 * link; the agent dials back a websocket of its own for the copy (as for a console, so a big
 * file never holds up heartbeats and logs) and sends a `CopyHead` text message, then the file's
 * bytes as binary messages, then closes with 1000. Backpressure is the websocket's: the agent
 * reads the container's archive only as fast as the scheduler takes it, which writes it only as
 * fast as the client reads.
 */

export const TaskCopy = z.object({
  type: z.literal('task.copy'),
  copyId: z.string().regex(/^[0-9a-f]{32}$/),
  taskId: TaskId,
  path: ContainerPath,
  /** A file bigger than this is refused before a byte is sent (TAPIT_COPY_MAX_BYTES). */
  maxBytes: z.number().int().positive(),
});
export type TaskCopy = z.infer<typeof TaskCopy>;

/** Why a copy cannot be made. */
export const CopyErrorCode = z.enum(['NOT_FOUND', 'IS_DIRECTORY', 'NOT_A_FILE', 'TOO_LARGE', 'CONTAINER_GONE', 'FAILED']);
export type CopyErrorCode = z.infer<typeof CopyErrorCode>;

/** The agent's first message on a copy's socket: the file's size and mode, or why there is none. */
export const CopyHead = z.discriminatedUnion('type', [
  z.object({ type: z.literal('copy.file'), size: z.number().int().nonnegative(), mode: z.number().int().min(0).max(0o7777) }),
  z.object({ type: z.literal('copy.error'), code: CopyErrorCode, message: z.string().max(4000) }),
]);
export type CopyHead = z.infer<typeof CopyHead>;

/** Path the agent dials back on for a copy's bytes. */
export const copyStreamPath = (copyId: string) => `/v1/agents/copies/${copyId}`;

/**
 * `POST /v1/tasks/{id}/copy`: one file of the task's container, answered as its bytes
 * (application/octet-stream, its size as Content-Length, its mode in X-Tapit-File-Mode). A POST:
 * opening a copy is audited (`task.copy`), as opening a console is.
 */
export const CopyFileRequest = z.strictObject({ path: ContainerPath });
export type CopyFileRequest = z.infer<typeof CopyFileRequest>;

/** The header giving a copied file's mode (octal, e.g. `644`). */
export const FILE_MODE_HEADER = 'X-Tapit-File-Mode';
