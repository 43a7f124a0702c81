import type { Kysely } from 'kysely';
import { MAX_AGENT_FRAME_BYTES, type SchedulerFrame } from '@tapit/protocol';
import type { Database, TaskRow } from '../db/schema.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { taskEnvs } from '../env/task-env.js';
import { pullAuths } from '../registries/repository.js';
import { SPEC_COLUMNS, taskSpecs, type SpecRow } from './task-spec.js';

export type TaskAssignFrame = Extract<SchedulerFrame, { type: 'task.assign' }>;

/** What an assignment needs besides the rows: the database (or a transaction) and the key to open stored secrets. */
export interface AssignmentSource {
  db: Kysely<Database>;
  secrets: SecretBox;
}

/** A task that cannot be sent: why (its secrets do not open), naming the var, never a value. */
export interface UnsendableTask {
  taskId: string;
  failure: string;
}

/** What an assignment takes from a task's row: its spec's columns and its sealed env. */
export const ASSIGNMENT_COLUMNS = [...SPEC_COLUMNS, 'env_sealed'] as const;
export type AssignableRow = SpecRow & Pick<TaskRow, 'env_sealed'>;

export const isUnsendable = (frame: TaskAssignFrame | UnsendableTask): frame is UnsendableTask => 'failure' in frame;

/**
 * The `task.assign` frames of `rows`, in order: each task's spec (which its agent keeps on disk,
 * less its env), and beside it what the agent holds in memory only. Every assignment, first or
 * re-sent, is made here, so what a task needs to start is the same each time. A task whose
 * secrets cannot be opened (a key this scheduler lacks) gets the reason instead of a frame.
 */
export async function taskAssignments({ db, secrets }: AssignmentSource, rows: AssignableRow[], withFiles?: ReadonlySet<string>): Promise<(TaskAssignFrame | UnsendableTask)[]> {
  const specs = await taskSpecs(db, rows, withFiles);
  // Its app's vars and its own, opened just now: sent to its agent only, never stored unsealed.
  const envs = await taskEnvs(db, secrets, rows);
  // The project's credentials for the registry of the task's image, when it has some.
  const auths = await pullAuths(db, secrets, specs.map((spec) => ({ id: spec.taskId, project: spec.project ?? '', image: spec.image })));
  return specs.map((spec, i): TaskAssignFrame | UnsendableTask => {
    const env = envs[i]!;
    if ('failure' in env) return { taskId: spec.taskId, failure: env.failure };
    const access = auths.get(spec.taskId);
    if (access?.failure) return { taskId: spec.taskId, failure: access.failure };
    const pullPolicy = access?.private ? 'always' : spec.pullPolicy;
    const frame: TaskAssignFrame = { type: 'task.assign', task: { ...spec, env: env.env, secretKeys: env.secretKeys, pullPolicy }, ...(access?.auth ? { pullAuth: access.auth } : {}) };
    // A frame past what the agent link carries would close the link on every resend, cutting the
    // agent's other tasks off with it: the task fails instead, saying why.
    const bytes = Buffer.byteLength(JSON.stringify(frame));
    if (bytes > MAX_AGENT_FRAME_BYTES) {
      return { taskId: spec.taskId, failure: `its assignment is ${bytes} bytes, more than an agent link carries (${MAX_AGENT_FRAME_BYTES}): its env vars and files are too large together` };
    }
    return frame;
  });
}
