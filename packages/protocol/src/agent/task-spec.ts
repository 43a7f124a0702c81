import { z } from 'zod';
import { TaskId, Timestamp } from '../common/ids.js';
import { TaskResources } from '../common/resources.js';
import { TaskKind } from '../common/status.js';

/** Everything an agent needs to run a task; the agent re-validates it before acting. */
export const TaskSpec = z.object({
  taskId: TaskId,
  image: z.string().min(1),
  command: z.array(z.string()),
  entrypoint: z.array(z.string()).nullable(),
  env: z.record(z.string(), z.string()),
  kind: TaskKind,
  resources: TaskResources,
  /** When the task first started running, if it already did (a re-sent assignment). */
  startedAt: Timestamp.nullable(),
  labels: z.record(z.string(), z.string()),
});
export type TaskSpec = z.infer<typeof TaskSpec>;
