import { z } from 'zod';
import { TaskId, Timestamp } from '../common/ids.js';

/** A console or exec session of a task, as kept for the audit trail (its recording aside). */
export const ConsoleSession = z.object({
  id: z.string(),
  taskId: TaskId,
  mode: z.enum(['attach', 'exec']),
  command: z.array(z.string()).nullable(),
  tty: z.boolean(),
  openedBy: z.string(),
  openedAt: Timestamp,
  closedAt: Timestamp.nullable(),
  exitCode: z.number().int().nullable(),
  /** detached | exited | client gone | agent gone | error: … */
  endReason: z.string().nullable(),
  /** Whether its recording holds what the user typed, or output only (the app's `recordInput`). */
  inputRecorded: z.boolean(),
});
export type ConsoleSession = z.infer<typeof ConsoleSession>;

export const ConsoleSessionList = z.object({ items: z.array(ConsoleSession) });
