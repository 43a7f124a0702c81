import type { CreateTaskRequest, TaskFile } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import { appPathKey, findAppsWithReleases, releaseNotFound, type AppPath } from '../apps/repository.js';
import { auditInsert, type AuditEntry } from '../audit/record.js';
import { BatchQueue, type Settled } from '../db/batch-queue.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { AppRow, Database } from '../db/schema.js';
import { notFound } from '../domain/domain-error.js';
import { sealTaskEnv } from '../env/task-env.js';
import { replayedAnswer } from '../idempotency/create-once.js';
import { claimKeys, completeKeys, findKeys, isKeyTaken, storeNewKeys } from '../idempotency/repository.js';
import { seal } from '../idempotency/seal.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { NewTask } from './lifecycle.js';
import { beginTasks, taskBirths } from './lifecycle.js';
import { prepareTask } from './repository.js';
import { storeFilesOfTasks } from './task-files.js';
import { toTask } from './task-view.js';

/** A create-task request as its route validated it, waiting for its batch. */
export interface CreateTaskItem {
  path: AppPath;
  /** The body, its initiatedBy already the task's own or the client's X-Initiated-By. */
  body: z.output<typeof CreateTaskRequest>;
  files: readonly TaskFile[];
  /** Who asks (the token's name: the task's created_by and the audit's actor), from where. */
  actor: string;
  source: string | null;
  /** Its Idempotency-Key, the key's hash and the request's fingerprint; null without one. */
  idempotency: { key: string; keyHash: string; fingerprint: string } | null;
}

/** The task as the API shows it, and whether it is an earlier request's answer replayed. */
export interface CreateTaskAnswer {
  task: object;
  replayed: boolean;
}

/**
 * Task creation by group commit (issue 13: a create cost ~11 round trips, and throughput
 * followed them): the creates that arrive while a batch is being written are written together,
 * with one statement per table for all of them. Each keeps its own answer and error: a missing
 * app or release, a reused Idempotency-Key fails that request only.
 */
export function taskCreation(db: Kysely<Database>, secrets: SecretBox): BatchQueue<CreateTaskItem, CreateTaskAnswer> {
  return new BatchQueue({
    commit: (items) => createTaskBatch(db, secrets, items),
    // A key twice in one batch: the second waits for the next batch, where it is a replay.
    retryAlone: (error) => !isDatabaseUnavailable(error),
    conflictKey: (item) => (item.idempotency ? `${item.actor}\n${item.idempotency.keyHash}` : null),
  });
}

/** Each database's one create queue (see `taskCreationOf`). */
const queues = new WeakMap<Kysely<Database>, BatchQueue<CreateTaskItem, CreateTaskAnswer>>();

/**
 * The create queue of `db`, shared by every route that creates tasks (the API's create, the
 * dashboard's forms): one batch at a time for them all, so concurrent creates share batches.
 */
export function taskCreationOf(db: Kysely<Database>, secrets: SecretBox): BatchQueue<CreateTaskItem, CreateTaskAnswer> {
  let queue = queues.get(db);
  if (!queue) queues.set(db, (queue = taskCreation(db, secrets)));
  return queue;
}

interface Prepared {
  index: number;
  item: CreateTaskItem;
  app: AppRow;
  values: NewTask;
}

/**
 * Creates the tasks of `items` atomically, as `createOnce` creates one: each task with its
 * event, first log line, files, audit event and, with an Idempotency-Key, the key and its sealed
 * answer; a key a live row holds answers that row's answer instead. The apps and releases are
 * read first, for all, so that a refused request uses up no key. Throws only when the batch as a
 * whole failed (then each is tried alone).
 */
export async function createTaskBatch(db: Kysely<Database>, secrets: SecretBox, items: readonly CreateTaskItem[]): Promise<Settled<CreateTaskAnswer>[]> {
  const results: Settled<CreateTaskAnswer>[] = new Array(items.length);
  const apps = await findAppsWithReleases(
    db,
    items.map((item) => item.path),
    items.flatMap((item) => (item.body.image || item.body.release === undefined ? [] : [item.body.release])),
  );
  const prepared: Prepared[] = [];
  await Promise.all(
    items.map(async (item, index) => {
      try {
        const app = apps.get(appPathKey(item.path));
        if (!app) throw notFound(`app "${item.path.app}" in ${item.path.project}/${item.path.stage}`, 'app');
        const { releases, ...row } = app;
        const lookup = async (_db: unknown, of: AppRow, number: number) => releases.find((r) => r.number === number) ?? Promise.reject(releaseNotFound(of, number));
        const values = await prepareTask(db, { app: row, body: item.body, createdBy: item.actor }, lookup);
        // Sealed bound to the task's id, which is made here: stored with the row, before any agent sees it.
        const env = item.body.env && Object.keys(item.body.env).length > 0 ? sealTaskEnv(secrets, values.id, item.body.env) : {};
        prepared.push({ index, item, app: row, values: { ...values, ...env } });
      } catch (error) {
        results[index] = { ok: false, error };
      }
    }),
  );
  if (prepared.length === 0) return results;
  prepared.sort((a, b) => a.index - b.index);
  // Files are rare and large: those batches take the transaction.
  if (prepared.every((p) => p.item.files.length === 0)) {
    try {
      await createWithNewKeys(db, prepared, results, apps.values().next().value!.read_at);
      return results;
    } catch (error) {
      if (!isKeyTaken(error)) throw error;
    }
  }
  await createClaimingKeys(db, prepared, results);
  return results;
}

/**
 * A batch whose keys no row holds (nearly every batch: a key is new but for a retry) in one
 * statement, without a transaction around it: the tasks as `beginTasks` writes them, their
 * audit rows, and their keys with their answers. The answers are made before it runs, from the
 * rows as they will read back (`taskBirths`; born `at`, the database's time of the apps' read).
 * A key some row holds fails the whole statement (`isKeyTaken`) and nothing is written: one
 * retry in a batch sends all of it the claiming way, its rows written and rolled back first.
 */
async function createWithNewKeys(db: Kysely<Database>, prepared: readonly Prepared[], results: Settled<CreateTaskAnswer>[], at: Date): Promise<void> {
  const { statement: births, rows } = await taskBirths(db, prepared.map((p) => p.values), { at });
  const tasks = prepared.map((p, i) => toTask({ ...rows![i]!, project: p.app.project, stage: p.app.stage, app_name: p.app.name }));
  const keys = prepared.flatMap((p, i) =>
    p.item.idempotency ? [{ principal: p.item.actor, keyHash: p.item.idempotency.keyHash, fingerprint: p.item.idempotency.fingerprint, response: seal(p.item.idempotency.key, p.item.actor, JSON.stringify(tasks[i])) }] : [],
  );
  const statement = births.with('a', () => auditInsert(db, prepared.map(auditOf)));
  if (keys.length > 0) await statement.with('k', () => storeNewKeys(db, keys)).selectFrom('t').select('t.id').execute();
  else await statement.selectFrom('t').select('t.id').execute();
  prepared.forEach((p, i) => (results[p.index] = { ok: true, value: { task: tasks[i]!, replayed: false } }));
}

/**
 * A batch in one transaction that claims its keys first (`claimKeys`): a key a live row holds
 * answers that row's answer instead (or a refusal), and nothing is created for it.
 */
async function createClaimingKeys(db: Kysely<Database>, prepared: readonly Prepared[], results: Settled<CreateTaskAnswer>[]): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const keyed = prepared.filter((p) => p.item.idempotency !== null);
    const claimKey = (actor: string, keyHash: string) => `${actor}\n${keyHash}`;
    const claims = await claimKeys(trx, keyed.map((p) => ({ principal: p.item.actor, keyHash: p.item.idempotency!.keyHash, fingerprint: p.item.idempotency!.fingerprint })));
    const claimed = new Map(claims.map((row) => [claimKey(row.principal, row.key_hash), row.id]));
    const keyId = (p: Prepared) => claimed.get(claimKey(p.item.actor, p.item.idempotency!.keyHash));

    const replays = keyed.filter((p) => keyId(p) === undefined);
    const earlier = new Map((await findKeys(trx, replays.map((p) => ({ principal: p.item.actor, keyHash: p.item.idempotency!.keyHash })))).map((row) => [claimKey(row.principal, row.key_hash), row]));
    for (const p of replays) {
      const { key, keyHash, fingerprint } = p.item.idempotency!;
      try {
        results[p.index] = { ok: true, value: { task: replayedAnswer(key, p.item.actor, fingerprint, earlier.get(claimKey(p.item.actor, keyHash))), replayed: true } };
      } catch (error) {
        results[p.index] = { ok: false, error };
      }
    }

    const creating = prepared.filter((p) => p.item.idempotency === null || keyId(p) !== undefined);
    if (creating.length === 0) return;
    const rows = await beginTasks(trx, creating.map((p) => p.values));
    await storeFilesOfTasks(trx, creating.map((p) => ({ taskId: p.values.id, files: p.item.files })));
    const answers: { id: number; response: string }[] = [];
    creating.forEach((p, i) => {
      // The row as stored, with its app: no second read of what was just written.
      const task = toTask({ ...rows[i]!, project: p.app.project, stage: p.app.stage, app_name: p.app.name });
      results[p.index] = { ok: true, value: { task, replayed: false } };
      if (p.item.idempotency) answers.push({ id: keyId(p)!, response: seal(p.item.idempotency.key, p.item.actor, JSON.stringify(task)) });
    });
    // The audit rows in the statement that stores the keys' answers.
    await completeKeys(trx, answers, auditInsert(trx, creating.map((p) => auditOf(p))));
  });
}

function auditOf({ item, values }: Prepared): AuditEntry {
  const { body, files, path } = item;
  return {
    actor: item.actor,
    source: item.source,
    initiatedBy: body.initiatedBy ?? null,
    action: 'task.create',
    targetType: 'task',
    targetId: values.id,
    project: path.project,
    details: { app: path.app, kind: body.kind, ...(body.env ? { envKeys: Object.keys(body.env).sort() } : {}), ...(files.length > 0 ? { files: files.map((f) => f.path) } : {}) },
  };
}
