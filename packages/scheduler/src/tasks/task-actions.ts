import type { Principal } from '../auth/tokens.js';
import { requireRole } from '../auth/permissions.js';
import { recordAudit } from '../audit/record.js';
import type { Requester } from '../audit/request-audit.js';
import { inTransaction } from '../db/transaction.js';
import type { AppDeps } from '../http/context.js';
import { deleteTask, findTask, requestStop } from './repository.js';
import type { TaskWithApp } from './task-view.js';

/**
 * Stop a task, as `POST /v1/tasks/:id/stop` and the dashboard's stop button both do: a member's,
 * within the token's project (another project's task is not found), audited in the stop's
 * transaction. Returns the task as it is after.
 */
export async function stopTaskAs(deps: Pick<AppDeps, 'db' | 'signals'>, principal: Principal, reference: string, from: Requester): Promise<TaskWithApp> {
  const { db, signals } = deps;
  requireRole(principal, 'member');
  const task = await findTask(db, reference, principal.project);
  await inTransaction(db, async (trx) => {
    await requestStop(trx, task.id, principal.name);
    await recordAudit(trx, { ...from, action: 'task.stop', targetType: 'task', targetId: task.id, project: task.project });
  });
  signals.workAvailable();
  signals.taskChanged(task.id);
  return findTask(db, task.id, null);
}

/** Delete a STOPPED task, as `DELETE /v1/tasks/:id` and the dashboard's delete button both do. */
export async function deleteTaskAs(deps: Pick<AppDeps, 'db' | 'removeContainer'>, principal: Principal, reference: string, from: Requester): Promise<TaskWithApp> {
  const { db } = deps;
  requireRole(principal, 'member');
  const task = await findTask(db, reference, principal.project);
  await inTransaction(db, async (trx) => {
    await deleteTask(trx, task);
    await recordAudit(trx, { ...from, action: 'task.delete', targetType: 'task', targetId: task.id, project: task.project });
  });
  // A container kept for copies goes with its task (an agent connected elsewhere removes it when its time is up).
  if (task.agent_name && task.keep_seconds) deps.removeContainer?.(task.agent_name, task.id);
  return task;
}
