import { z } from 'zod';
import { Name, Timestamp } from '../common/ids.js';
import { ImageRef } from '../common/image-ref.js';
import { Cpu, MaxHours, MemoryGb } from '../common/resources.js';
import { Labels } from '../common/labels.js';
import { PullPolicy } from './registries.js';

export const CreateProjectRequest = z.strictObject({ name: Name });
export type CreateProjectRequest = z.infer<typeof CreateProjectRequest>;

export const Project = z.object({ name: Name, stages: z.array(Name), createdAt: Timestamp });
export type Project = z.infer<typeof Project>;

export const CreateStageRequest = z.strictObject({ name: Name });
export type CreateStageRequest = z.infer<typeof CreateStageRequest>;

/** The longest a log may be kept by retention, in days (100 years: as good as forever). */
export const MAX_LOG_RETENTION_DAYS = 36500;

/**
 * Days a task's log is kept after the task finished, then deleted (the task itself stays);
 * decimals allowed (0.5 = 12 hours).
 */
export const LogRetentionDays = z
  .number({ error: `must be a number of days above 0, at most ${MAX_LOG_RETENTION_DAYS}` })
  .positive(`must be a number of days above 0, at most ${MAX_LOG_RETENTION_DAYS}`)
  .max(MAX_LOG_RETENTION_DAYS, `must be at most ${MAX_LOG_RETENTION_DAYS} days`);

export const CreateAppRequest = z.strictObject({
  name: Name,
  image: ImageRef,
  cpu: Cpu.optional(),
  memoryGb: MemoryGb.optional(),
  maxHours: MaxHours.nullable().optional(),
  /**
   * Record what users type in consoles and execs of this app's tasks (asciicast "i" events),
   * passwords typed at hidden prompts included. Off by default: recordings keep output only.
   */
  recordInput: z.boolean({ error: 'must be true or false' }).optional(),
  /** Labels an agent must carry to run the app's tasks (`constraint=region=eu`). */
  constraints: Labels.optional(),
  /** Tasks run with a read-only root filesystem (a small /tmp stays writable); default false. */
  readOnly: z.boolean({ error: 'must be true or false' }).optional(),
  /** Days its tasks' logs are kept after they finish; null or absent: the scheduler's `TAPIT_LOG_RETENTION_DAYS`. */
  logRetentionDays: LogRetentionDays.nullable().optional(),
  /** When agents pull its tasks' images; default `missing`. */
  pullPolicy: PullPolicy.optional(),
});
export type CreateAppRequest = z.infer<typeof CreateAppRequest>;

export const App = z.object({
  project: Name,
  stage: Name,
  name: Name,
  /** The image repository the app's releases come from. */
  image: ImageRef,
  defaults: z.object({ cpu: Cpu, memoryGb: MemoryGb, maxHours: MaxHours.nullable() }),
  /** Its tasks' root filesystem is read-only. */
  readOnly: z.boolean(),
  activeRelease: z.number().int().positive().nullable(),
  /** Whether console recordings of its tasks keep what users type (see CreateAppRequest). */
  recordInput: z.boolean(),
  /** Labels an agent must carry to run the app's tasks; each task may add its own. */
  constraints: Labels,
  /** Days its tasks' logs are kept after they finish; null: as the scheduler's `TAPIT_LOG_RETENTION_DAYS` says (unset there: forever). */
  logRetentionDays: LogRetentionDays.nullable(),
  /** When agents pull its tasks' images (PullPolicy). */
  pullPolicy: PullPolicy,
  createdAt: Timestamp,
});
export type App = z.infer<typeof App>;

/** `tapit update app NAME constraint=… log_retention_days=… pull_policy=…`: what is given replaces what the app had. */
export const UpdateAppRequest = z
  .strictObject({
    constraints: Labels.optional(),
    /** null: back to the scheduler's `TAPIT_LOG_RETENTION_DAYS`. */
    logRetentionDays: LogRetentionDays.nullable().optional(),
    pullPolicy: PullPolicy.optional(),
  })
  .refine((r) => r.constraints !== undefined || r.logRetentionDays !== undefined || r.pullPolicy !== undefined, {
    message: 'give constraints, logRetentionDays or pullPolicy',
    path: ['constraints'],
  });
export type UpdateAppRequest = z.infer<typeof UpdateAppRequest>;

export const CreateReleaseRequest = z.strictObject({ image: ImageRef });
export type CreateReleaseRequest = z.infer<typeof CreateReleaseRequest>;

export const Release = z.object({
  number: z.number().int().positive(),
  image: ImageRef,
  active: z.boolean(),
  createdAt: Timestamp,
});
export type Release = z.infer<typeof Release>;

export const AppList = z.object({ items: z.array(App) });
export const ReleaseList = z.object({ items: z.array(Release) });
export const ProjectList = z.object({ items: z.array(Project) });
