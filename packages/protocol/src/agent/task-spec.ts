import { z } from 'zod';
import { Name, TaskId, Timestamp } from '../common/ids.js';
import { ImageRef } from '../common/image-ref.js';
import { TaskResources } from '../common/resources.js';
import { TaskKind } from '../common/status.js';
import { TerminalSize } from '../pty/frames.js';
import { MAX_KEEP_SECONDS, TaskFile, TaskText as Text } from '../api/tasks.js';
import { PullPolicy } from '../api/registries.js';

/** Everything an agent needs to run a task; the agent re-validates it before acting. */
export const TaskSpec = z.object({
  taskId: TaskId,
  image: ImageRef,
  command: z.array(Text),
  entrypoint: z.array(Text).nullable(),
  env: z.record(Text, Text),
  /**
   * The names in `env` whose values are secrets: the agent masks them in the task's log and never
   * writes `env` to its state folder (it asks for it again with `task.env.request` after a restart).
   */
  secretKeys: z.array(Text).max(1000).optional(),
  kind: TaskKind,
  resources: TaskResources,
  /** When the task first started running, if it already did (a re-sent assignment). */
  startedAt: Timestamp.nullable(),
  labels: z.record(z.string(), z.string()),
  /** Interactive tasks: the TTY's size at start, when the user's terminal was known. */
  terminal: TerminalSize.optional(),
  /** The task's project: on the `bridge` network mode each project gets a network of its own. */
  project: Name.optional(),
  /** The app's `read_only`: the root filesystem is mounted read-only (a small /tmp stays writable). */
  readOnly: z.boolean().optional(),
  /** The app's pull policy; absent (an older scheduler): `missing`. */
  pullPolicy: PullPolicy.optional(),
  /**
   * Files to write into the container before it starts (sent until the task runs; added within
   * version 1). A file that cannot be written fails the start.
   */
  files: z.array(TaskFile).max(64).optional(),
  /**
   * Keep the container this long after the task ended, so `tapit cp` can still copy from it
   * (`keep=DURATION`, at most MAX_KEEP_SECONDS); then the agent removes it. Absent: removed at
   * once, as always.
   */
  keepSeconds: z.number().int().positive().max(MAX_KEEP_SECONDS).optional(),
});
export type TaskSpec = z.infer<typeof TaskSpec>;
