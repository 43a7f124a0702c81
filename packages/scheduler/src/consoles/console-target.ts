import type { Kysely } from 'kysely';
import type { Principal } from '../auth/tokens.js';
import type { Database } from '../db/schema.js';
import { DomainError } from '../domain/domain-error.js';
import { findTask } from '../tasks/repository.js';
import type { TaskWithApp } from '../tasks/task-view.js';

/**
 * The task a console or exec session may open on, for `principal` (its role was checked first):
 * one of its project, RUNNING, and an interactive one for an attach (its agent may be connected
 * to any replica: see replicas/agent-route.ts).
 */
export async function findConsoleTarget(
  db: Kysely<Database>,
  principal: Principal,
  taskRef: string,
  mode: 'attach' | 'exec',
): Promise<TaskWithApp> {
  const task = await findTask(db, taskRef, principal.project);
  if (mode === 'attach' && task.kind !== 'interactive') {
    throw new DomainError('CONFLICT', `task ${task.id} is a background task with no console: run a command in it with \`tapit task:attach ${task.id.slice(0, 12)} -- CMD\``);
  }
  if (task.status !== 'RUNNING') throw new DomainError('CONFLICT', `task ${task.id} is ${task.status}: only a RUNNING task has a console`);
  return task;
}
