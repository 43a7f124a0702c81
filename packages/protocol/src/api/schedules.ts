import { z } from 'zod';
import { Name, TaskId, Timestamp } from '../common/ids.js';
import { Cpu, EphemeralStorageGb, MaxHours, MemoryGb } from '../common/resources.js';
import { StopCode, TaskStatus } from '../common/status.js';
import { DockerTag, ImageRef } from '../common/image-ref.js';
import { Labels } from '../common/labels.js';
import { TaskText } from './tasks.js';

/** Schedule ids look like task ids: 32 lowercase hex characters; the CLI accepts a unique prefix. */
export const ScheduleId = TaskId;

/** What happens to a slot while the schedule's previous run is still active. */
export const ConcurrencyPolicy = z.enum(['allow', 'forbid', 'replace']);
export type ConcurrencyPolicy = z.infer<typeof ConcurrencyPolicy>;

/** What happens to slots that passed while no scheduler could fire them. */
export const MissedRunPolicy = z.enum(['skip', 'latest']);
export type MissedRunPolicy = z.infer<typeof MissedRunPolicy>;

/** At most this many retries per slot. */
export const MAX_SCHEDULE_RETRIES = 10;

/** A cron expression (checked by the scheduler: fields, ranges, macros). */
export const CronExpression = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
/** An IANA time zone name (checked by the scheduler against the zones it knows). */
export const TimeZoneName = z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters');

const Argument = TaskText.max(65536, 'must be at most 65536 characters');

/**
 * What each run of a schedule creates: the fields of `CreateTaskRequest` for a background task
 * (no kind, no terminal). Exactly one of command and args.
 */
const ScheduleTaskFields = {
  command: Argument.min(1, 'must not be empty').optional(),
  args: z.array(Argument).min(1, 'must have at least one element').max(4096).optional(),
  entrypoint: z.array(Argument).max(64).optional(),
  release: z.number().int().positive().max(2147483647).optional(),
  dockerTag: DockerTag.optional(),
  image: ImageRef.optional(),
  cpu: Cpu.optional(),
  memoryGb: MemoryGb.optional(),
  maxHours: MaxHours.optional(),
  ephemeralStorageGb: EphemeralStorageGb.optional(),
  initiatedBy: TaskText.min(1).max(200).optional(),
  constraints: Labels.optional(),
};

export const CreateScheduleRequest = z
  .strictObject({
    cron: CronExpression,
    /** Default UTC. */
    timezone: TimeZoneName.optional(),
    /** Default allow. */
    concurrency: ConcurrencyPolicy.optional(),
    /** Default skip. */
    missed: MissedRunPolicy.optional(),
    /** A slot not fired within this many seconds of its time is recorded as missed; null: no limit. */
    startingDeadlineSeconds: z.number().int().min(1).max(366 * 24 * 3600).nullable().optional(),
    /** A run that ends other than EXITED 0 (or USER_STOPPED) is retried up to this many times; default 0. */
    retries: z.number().int().min(0).max(MAX_SCHEDULE_RETRIES).optional(),
    /** Alerts for this schedule go here (else to the app's default webhook, if any). */
    webhookUrl: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2000).optional(),
    ...ScheduleTaskFields,
  })
  .refine((r) => (r.command === undefined) !== (r.args === undefined), {
    message: 'give exactly one of command (a shell command line) or args (an argument vector)',
    path: ['command'],
  })
  .refine((r) => !(r.image !== undefined && r.release !== undefined), {
    message: 'image and release cannot be combined: image replaces the release image',
    path: ['image'],
  });
export type CreateScheduleRequest = z.input<typeof CreateScheduleRequest>;

/**
 * The outcome of one slot: its task waiting or running, waiting for a retry, ended well
 * (EXITED 0), stopped by a user (never retried), ended otherwise after its last attempt, or
 * never run (`reason` says why: concurrency=forbid, missed while no scheduler ran, …).
 */
export const ScheduleRunOutcome = z.enum(['running', 'retrying', 'succeeded', 'stopped', 'failed', 'skipped']);
export type ScheduleRunOutcome = z.infer<typeof ScheduleRunOutcome>;

/** How a slot came to be: its cron time, or `trigger schedule`. */
export const ScheduleRunTrigger = z.enum(['cron', 'manual']);
export type ScheduleRunTrigger = z.infer<typeof ScheduleRunTrigger>;

/** One task of a slot: the first attempt, then each retry. */
export const ScheduleRunAttempt = z.object({
  attempt: z.number().int().min(1),
  taskId: TaskId,
  status: TaskStatus,
  stopCode: StopCode.nullable(),
  exitCode: z.number().int().nullable(),
});
export type ScheduleRunAttempt = z.infer<typeof ScheduleRunAttempt>;

export const ScheduleRun = z.object({
  scheduledFor: Timestamp,
  trigger: ScheduleRunTrigger,
  outcome: ScheduleRunOutcome,
  /** Why a slot was skipped or failed, in words (`task 3f2a… was still running (concurrency=forbid)`). */
  reason: z.string().nullable(),
  attempts: z.array(ScheduleRunAttempt),
  /** When the next retry's task will be created, while retrying. */
  nextAttemptAt: Timestamp.nullable(),
  createdAt: Timestamp,
});
export type ScheduleRun = z.infer<typeof ScheduleRun>;

/** What each run creates, as stored. */
export const ScheduleTaskTemplate = z.object({
  command: z.array(z.string()),
  entrypoint: z.array(z.string()).nullable(),
  release: z.number().int().positive().nullable(),
  image: ImageRef.nullable(),
  dockerTag: DockerTag.nullable(),
  cpu: Cpu.nullable(),
  memoryGb: MemoryGb.nullable(),
  maxHours: MaxHours.nullable(),
  ephemeralStorageGb: EphemeralStorageGb.nullable(),
  initiatedBy: z.string().nullable(),
  constraints: Labels,
});
export type ScheduleTaskTemplate = z.infer<typeof ScheduleTaskTemplate>;

export const Schedule = z.object({
  id: ScheduleId,
  project: Name,
  stage: Name,
  app: Name,
  cron: z.string(),
  timezone: z.string(),
  concurrency: ConcurrencyPolicy,
  missed: MissedRunPolicy,
  startingDeadlineSeconds: z.number().int().nullable(),
  retries: z.number().int().min(0),
  task: ScheduleTaskTemplate,
  suspended: z.boolean(),
  /** The last finished slot failed or was skipped/missed (and no success since). */
  failing: z.boolean(),
  /** The next cron slot; null while suspended. */
  nextRunAt: Timestamp.nullable(),
  /** The most recent slot, with its outcome. */
  lastRun: ScheduleRun.nullable(),
  /** Where alerts go; the secret that signs them is shown only when the schedule is created. */
  webhookUrl: z.string().nullable(),
  createdBy: z.string(),
  createdAt: Timestamp,
});
export type Schedule = z.infer<typeof Schedule>;

/** The answer to a create: the schedule, and the webhook's signing secret, shown this once. */
export const CreatedSchedule = Schedule.extend({ webhookSecret: z.string().nullable() });
export type CreatedSchedule = z.infer<typeof CreatedSchedule>;

/** A slot's time in the schedule's own zone (with its offset) and in UTC. */
export const UpcomingRun = z.object({ local: z.string(), utc: Timestamp });
export type UpcomingRun = z.infer<typeof UpcomingRun>;

export const ScheduleDetail = Schedule.extend({
  /** The next 5 slots. */
  upcoming: z.array(UpcomingRun),
  /** Recent slots, newest first (a documented number are kept). */
  runs: z.array(ScheduleRun),
});
export type ScheduleDetail = z.infer<typeof ScheduleDetail>;

export const ScheduleList = z.object({ items: z.array(Schedule), nextCursor: z.string().nullable() });
export type ScheduleList = z.infer<typeof ScheduleList>;

/** `GET /v1/schedules`: newest first, filtered by project, stage and app, in keyset pages. */
export const ListSchedulesQuery = z.strictObject({
  project: Name.optional(),
  stage: Name.optional(),
  app: Name.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(200).optional(),
});
export type ListSchedulesQuery = z.input<typeof ListSchedulesQuery>;

/** `trigger schedule`: the slot it created and its first task. */
export const TriggeredRun = z.object({ scheduleId: ScheduleId, scheduledFor: Timestamp, taskId: TaskId });
export type TriggeredRun = z.infer<typeof TriggeredRun>;
