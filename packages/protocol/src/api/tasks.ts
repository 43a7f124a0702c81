import { z } from 'zod';
import { Name, TaskId, Timestamp } from '../common/ids.js';
import { Cpu, EphemeralStorageGb, MaxHours, MemoryGb, ResourceUsage, TaskResources } from '../common/resources.js';
import { DesiredStatus, StopCode, TaskKind, TaskStatus } from '../common/status.js';
import { DockerTag, ImageRef } from '../common/image-ref.js';
import { TerminalSize } from '../pty/frames.js';
import { Labels } from '../common/labels.js';
import { TaskText } from '../common/text.js';
import { TaskEnvOverrides } from './env.js';

export { TaskText };

const Argument = TaskText.max(65536, 'must be at most 65536 characters');

/** C0 and C1 control characters and DEL: what a terminal acts on (escapes, \r) instead of showing. */
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** A label people read in listings: printable text, so it cannot forge or rewrite what a terminal shows. */
const Label = TaskText.refine((s) => !CONTROL_CHARACTERS.test(s), 'must not contain control characters (escape sequences, tabs, line breaks)');

/** Base64 as RFC 4648 writes it (padded), the way a file's bytes travel in JSON. */
const Base64 = z.string().regex(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/, 'must be base64 (RFC 4648, padded)');

/** An absolute path in a container: no NUL, no `.` or `..` step, no empty step (`//`). */
export const ContainerPath = TaskText.max(4096, 'must be at most 4096 characters').refine(
  (p) => p.startsWith('/') && p.length > 1 && !p.endsWith('/') && p.slice(1).split('/').every((step) => step !== '' && step !== '.' && step !== '..'),
  'must be an absolute path to a file, e.g. /app/fix.rb (no `.`, `..` or empty steps, no trailing /)',
);

/**
 * A file copied into a task's container before it starts (`--file ./local:/in/container`):
 * parent folders are made, the file is owned by root with `mode`. The bytes of all a task's
 * files together are limited (TAPIT_TASK_FILES_MAX_BYTES).
 */
export const TaskFile = z.strictObject({
  path: ContainerPath,
  /** Permission bits, e.g. 420 (0644) or 493 (0755). */
  mode: z.number().int().min(0).max(0o7777),
  /** The file's bytes, base64. */
  content: Base64,
});
export type TaskFile = z.infer<typeof TaskFile>;

/**
 * The most a task's files may hold together (TAPIT_TASK_FILES_MAX_BYTES may lower it, not raise
 * it): as base64 with the rest of a spec they fit an agent frame (MAX_AGENT_FRAME_BYTES, 4 MiB).
 */
export const MAX_TASK_FILES_BYTES = 2 * 1024 * 1024;

/** The longest a finished task's container may be kept for `tapit cp` (`keep=`): 7 days. */
export const MAX_KEEP_SECONDS = 7 * 24 * 3600;

/** Most files one task takes. */
export const MAX_TASK_FILES = 64;

/**
 * A new task. `command` is a shell command line (run with `/bin/sh -c`, as `tapit create task`
 * sends it); `args` is an exec-form argument vector (as `task:run -- CMD ARGS…` sends it).
 * Exactly one of the two.
 */
export const CreateTaskRequest = z
  .strictObject({
    command: Argument.min(1, 'must not be empty').optional(),
    args: z.array(Argument).min(1, 'must have at least one element').max(4096).optional(),
    entrypoint: z.array(Argument).max(64).optional(),
    kind: TaskKind.default('background'),
    release: z.number().int().positive().max(2147483647).optional(),
    dockerTag: DockerTag.optional(),
    image: ImageRef.optional(),
    cpu: Cpu.optional(),
    memoryGb: MemoryGb.optional(),
    maxHours: MaxHours.optional(),
    ephemeralStorageGb: EphemeralStorageGb.optional(),
    initiatedBy: Label.min(1).max(200).optional(),
    /** Interactive tasks: the user's terminal size, so the console starts at it. */
    terminal: TerminalSize.optional(),
    /** Labels its agent must carry, besides the app's (a key given here replaces the app's value). */
    constraints: Labels.optional(),
    /** Env vars of this task alone, over its app's (`env=KEY=VALUE`): secrets, never shown back. */
    env: TaskEnvOverrides.optional(),
    /** Seconds to keep the container after the task ends, for `tapit cp` (`keep=DURATION`). */
    keepSeconds: z.number().int().positive().max(MAX_KEEP_SECONDS, `must be at most ${MAX_KEEP_SECONDS} seconds (7 days)`).optional(),
    /** Files copied into the container before it starts; no two at one path. */
    files: z
      .array(TaskFile)
      .max(MAX_TASK_FILES, `must have at most ${MAX_TASK_FILES} files`)
      .refine((files) => new Set(files.map((f) => f.path)).size === files.length, 'must not name one path twice')
      .optional(),
  })
  .refine((r) => (r.command === undefined) !== (r.args === undefined), {
    message: 'give exactly one of command (a shell command line) or args (an argument vector)',
    path: ['command'],
  })
  .refine((r) => !(r.image !== undefined && r.release !== undefined), {
    message: 'image and release cannot be combined: image replaces the release image',
    path: ['image'],
  });
export type CreateTaskRequest = z.input<typeof CreateTaskRequest>;

/** What a task's log holds: lines and bytes of output stored, what its log limit dropped, and when retention expired it. */
export const TaskLogSize = z.object({
  lines: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  /** Output past TAPIT_LOG_MAX_BYTES_PER_TASK, dropped and never stored. */
  droppedLines: z.number().int().nonnegative(),
  droppedBytes: z.number().int().nonnegative(),
  /** When log retention expired the log (it is deleted, or being deleted); null while kept. */
  expiredAt: Timestamp.nullable(),
});
export type TaskLogSize = z.infer<typeof TaskLogSize>;

export const Task = z.object({
  id: TaskId,
  project: Name,
  stage: Name,
  app: Name,
  release: z.number().int().positive().nullable(),
  image: ImageRef,
  /** The image digest the agent resolved, once known. */
  imageDigest: z.string().nullable(),
  command: z.array(z.string()),
  entrypoint: z.array(z.string()).nullable(),
  kind: TaskKind,
  resources: TaskResources,
  initiatedBy: z.string().nullable(),
  /** The name of the API token that created the task. */
  createdBy: z.string(),
  status: TaskStatus,
  desiredStatus: DesiredStatus,
  stopCode: StopCode.nullable(),
  stopReason: z.string().nullable(),
  stoppedBy: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  agent: z.string().nullable(),
  /** Labels its agent must carry: the app's and the task's own. */
  constraints: Labels,
  /** The names of the task's own env vars (their values are never shown back); absent from older schedulers. */
  envKeys: z.array(z.string()).optional(),
  usage: ResourceUsage,
  /** Absent from schedulers before log chunks: a newer client still reads their tasks. */
  log: TaskLogSize.optional(),
  createdAt: Timestamp,
  startedAt: Timestamp.nullable(),
  finishedAt: Timestamp.nullable(),
  /** The schedule whose slot created the task (null for a task created otherwise; kept after the schedule is deleted). */
  scheduleId: TaskId.nullable(),
  /** That slot: its cron time, or the instant of a manual trigger. */
  scheduledFor: Timestamp.nullable(),
});
export type Task = z.infer<typeof Task>;

export const TaskList = z.object({
  items: z.array(Task),
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type TaskList = z.infer<typeof TaskList>;

export const ListTasksQuery = z.strictObject({
  project: Name.optional(),
  stage: Name.optional(),
  app: Name.optional(),
  status: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(TaskStatus))
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export type ListTasksQuery = z.input<typeof ListTasksQuery>;
