import type { Kysely } from 'kysely';
import type { SchedulerFrame } from '@tapit/protocol';
import type { Database, TaskRow } from '../db/schema.js';
import type { SecretBox } from '../secrets/secret-box.js';
import { pullAuths } from '../registries/repository.js';
import { taskSpecs } from './task-spec.js';

export type TaskAssignFrame = Extract<SchedulerFrame, { type: 'task.assign' }>;

/** What an assignment needs besides the rows: the database (or a transaction) and the key to open stored secrets. */
export interface AssignmentSource {
  db: Kysely<Database>;
  secrets: SecretBox;
}

/**
 * The `task.assign` frames of `rows`, in order: each task's spec (which its agent keeps on disk),
 * and beside it what the agent holds in memory only. Every assignment, first or re-sent, is made
 * here, so what a task needs to start is the same each time.
 */
export async function taskAssignments({ db, secrets }: AssignmentSource, rows: TaskRow[]): Promise<TaskAssignFrame[]> {
  const specs = await taskSpecs(db, rows);
  // The project's credentials for the registry of the task's image, when it has some.
  const auths = await pullAuths(db, secrets, specs.map((spec) => ({ id: spec.taskId, project: spec.project ?? '', image: spec.image })));
  return specs.map((task) => {
    const pullAuth = auths.get(task.taskId);
    return { type: 'task.assign', task, ...(pullAuth ? { pullAuth } : {}) };
  });
}
