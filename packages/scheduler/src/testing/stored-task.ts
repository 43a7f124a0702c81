import type { Kysely } from 'kysely';
import type { AppRow, Database, TaskRow } from '../db/schema.js';
import { beginTasks } from '../tasks/lifecycle.js';
import { prepareTask, type TaskRequest } from '../tasks/repository.js';

/**
 * One task stored as a create stores it (prepared from the app's defaults, born PROVISIONING),
 * without the API's batch: for tests that need a task row and nothing of the request around it.
 */
export async function storeTask(db: Kysely<Database>, app: AppRow, body: TaskRequest['body'], createdBy = 'test'): Promise<TaskRow> {
  return (await beginTasks(db, [await prepareTask(db, { app, body, createdBy })]))[0]!;
}
