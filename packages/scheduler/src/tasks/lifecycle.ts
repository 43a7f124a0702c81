import { DesiredStatus, type TaskStatus } from '@tapit/protocol';
import { sql, type Insertable, type Kysely, type RawBuilder, type Transaction, type UpdateObject } from 'kysely';
import type { Database, TaskRow, TasksTable } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { appendLogLinesOfTasks, countedChunkRows, firstChunk, lineCounters, type NewLogLine } from '../logs/repository.js';
import { ASSIGNMENT_COLUMNS, type AssignableRow } from './task-assignment.js';
import { dropTaskFiles } from './task-files.js';

/** A new task's row, but its status: every task is born PROVISIONING with desired status RUNNING. */
export type NewTask = Omit<Insertable<TasksTable>, 'status' | 'desired_status'>;

export interface Transition {
  /** The change, which must set `status` or `desired_status`. */
  patch: UpdateObject<Database, 'tasks'>;
  /** Apply only while the task is in one of these statuses (guards against races). */
  from?: readonly TaskStatus[];
  /** Apply only for this placement attempt (reports from a stale attempt are ignored). */
  attempt?: number;
  /** Extra detail kept with the event (and shown as its own [system] line). */
  message?: string;
  /**
   * [system] lines after the status line, from the row as changed (a stop's description): in its
   * chunk, so a stop costs one log write, not two.
   */
  linesAfter?: (row: TaskRow, at: Date) => NewLogLine[];
  at?: Date;
}

/** What a batch's status change gives back of each task: what recording it needs. */
export type StatusChange = Pick<TaskRow, 'id' | 'status' | 'desired_status' | 'log_count'>;

/** A task placed by `assignTasks`: what its assignment and the record of its change take. */
export type AssignedTask = AssignableRow & StatusChange;
const ASSIGNED_COLUMNS = sql.join([...ASSIGNMENT_COLUMNS, 'status', 'desired_status', 'log_count'].map((column) => sql.ref(`tasks.${column}`)));

/**
 * The birth of a task: its row as PROVISIONING (desired status RUNNING), recorded as every later
 * status change is (`transition`): a task event and the `[system] Task status is PROVISIONING,
 * desired status is RUNNING` line (and `message`, if given, as its own line), in the caller's
 * transaction when given one. Returns the row.
 */
export async function beginTask(db: Kysely<Database>, values: NewTask, options: { message?: string; at?: Date } = {}): Promise<TaskRow> {
  return (await beginTasks(db, [values], options))[0]!;
}

/**
 * The birth of several tasks, as `beginTask`'s, with one statement per table for all of them (a
 * firing batch starts one per slot). Returns the rows in the order of `values`.
 */
export async function beginTasks(db: Kysely<Database>, values: NewTask[], options: { message?: string; at?: Date } = {}): Promise<TaskRow[]> {
  if (values.length === 0) return [];
  const inserted = await (await taskBirths(db, values, options)).statement.selectFrom('t').selectAll().execute();
  // RETURNING's order is not promised: back to the callers' order by id.
  const byId = new Map(inserted.map((row) => [row.id, row as TaskRow]));
  return values.map((v) => byId.get(v.id)!);
}

/**
 * The birth of tasks as one statement, not yet run: the rows (`t`, returning them), their events
 * and their first log lines (a round trip per table was most of a create's cost), for a caller
 * that adds statements of its own to it (atomic as one statement, in the caller's transaction if
 * any). With `at` given, it is the tasks' `created_at` too (else the database's `now()`), and
 * `rows` are the tasks as they will read back once it ran: every value of a new row is then set
 * here, none left to the database (without `at`, `rows` is null: its time is the database's).
 */
export async function taskBirths(db: Kysely<Database>, values: NewTask[], options: { message?: string; at?: Date } = {}) {
  const at = options.at ?? new Date();
  const first = await firstChunk(statusLines({ status: 'PROVISIONING', desired_status: 'RUNNING' }, options.message, at));
  const born = values.map((v) => ({ ...v, status: 'PROVISIONING' as const, desired_status: 'RUNNING' as const, ...first.counters, ...(options.at ? { created_at: options.at } : {}) }));
  const statement = db
    .with('t', (q) => q.insertInto('tasks').values(born).returningAll())
    .with('e', (q) =>
      q
        .insertInto('task_events')
        .columns(['task_id', 'status', 'desired_status', 'message', 'created_at'])
        .expression((eb) => eb.selectFrom('t').select(['t.id', 't.status', 't.desired_status', sql<string | null>`${options.message ?? null}::text`.as('message'), sql<Date>`${at}::timestamptz`.as('created_at')])),
    )
    .with('c', (q) => q.insertInto('task_log_chunks').values(values.map((v) => first.chunk(v.id))));
  const bornAt = options.at;
  return { statement, rows: bornAt ? born.map((row) => asReadBack({ ...row, created_at: bornAt })) : null };
}

/** A new task's row as the database gives it back: its JSON parsed, the columns it was not given at their defaults. */
function asReadBack(row: NewTask & Pick<TaskRow, 'status' | 'desired_status' | 'log_count' | 'log_bytes' | 'created_at'>): TaskRow {
  const json = <T>(text: string | undefined, empty: T): T => (text === undefined ? empty : (jsonbOrdered(JSON.parse(text)) as T));
  return {
    ...row,
    release: row.release ?? null,
    image_digest: row.image_digest ?? null,
    command: json(row.command, []),
    entrypoint: json(row.entrypoint, null),
    env: json(row.env, {}),
    constraints: json(row.constraints, {}),
    env_keys: json(row.env_keys, []),
    env_sealed: row.env_sealed ?? null,
    attempt: 0,
    last_agent_seq: 0,
    log_dropped_bytes: 0,
    log_dropped_lines: 0,
    late_report_until: null,
    log_expired_at: null,
    log_purged_at: null,
  } as TaskRow;
}

/**
 * A JSON value with its objects' keys in the order a jsonb column gives them back: shorter keys
 * first, keys of one length by their bytes (Postgres stores jsonb objects so).
 */
function jsonbOrdered(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(jsonbOrdered);
  if (value === null || typeof value !== 'object') return value;
  const keys = Object.keys(value).map((key) => ({ key, bytes: Buffer.from(key) }));
  keys.sort((a, b) => a.bytes.length - b.bytes.length || Buffer.compare(a.bytes, b.bytes));
  return Object.fromEntries(keys.map(({ key }) => [key, jsonbOrdered((value as Record<string, unknown>)[key])]));
}

/**
 * The one way a task's status changes: the row, a task event, and the
 * `[system] Task status is X, desired status is Y` log line, in the caller's transaction when
 * given one (else in one of its own). Returns the updated row, or undefined when the guard did
 * not hold.
 */
export async function transition(db: Kysely<Database>, taskId: string, t: Transition): Promise<TaskRow | undefined> {
  return inTransaction(db, async (trx) => {
    let query = trx.updateTable('tasks').set(t.patch).where('id', '=', taskId);
    if (t.from) query = query.where('status', 'in', [...t.from]);
    if (t.attempt !== undefined) query = query.where('attempt', '=', t.attempt);
    const row = await query.returningAll().executeTakeFirst();
    if (!row) return undefined;
    const at = t.at ?? new Date();
    await recordStatuses(trx, [{ row, at, after: t.linesAfter?.(row, at) }], t.message);
    return row;
  });
}

/**
 * Tasks placed: each PROVISIONING → PENDING on its agent (a new attempt, not yet accepted), as
 * `transition` would record them one by one (the row, an event and the [system] line each), in
 * one statement per table for the whole batch: placement claims hundreds at a time, and a
 * round trip per task per table was most of its cost. A task no longer PROVISIONING is left
 * out. Returns the tasks placed, in the order given: what their assignments and the record of
 * the change take of their rows, no more (placement parses no whole rows).
 */
export async function assignTasks(db: Kysely<Database>, placements: readonly { taskId: string; agentName: string }[], at = new Date()): Promise<AssignedTask[]> {
  if (placements.length === 0) return [];
  return inTransaction(db, async (trx) => {
    const values = sql.join(placements.map((p) => sql`(${p.taskId}::text, ${p.agentName}::text)`));
    const { rows } = await sql<AssignedTask>`
      UPDATE tasks SET status = 'PENDING', agent_name = v.agent, attempt = tasks.attempt + 1, assigned_at = ${at}, accepted_at = NULL,
             ${await statusLineCounters('PENDING')}
        FROM (VALUES ${values}) AS v (id, agent)
       WHERE tasks.id = v.id AND tasks.status = 'PROVISIONING'
      RETURNING ${ASSIGNED_COLUMNS}`.execute(trx);
    const byId = new Map(rows.map((row) => [row.id, row]));
    const placed = placements.flatMap((p) => byId.get(p.taskId) ?? []);
    await recordCountedStatuses(trx, placed.map((row) => ({ row, at })));
    return placed;
  });
}

/**
 * Tasks started: each PENDING → RUNNING (`started_at` too) at the time given, as `transition`
 * would record them one by one (the row, an event and the [system] line each, at that time), in
 * one statement per table for all: a thousand agents report their tasks RUNNING at once. A task
 * no longer PENDING is left out. Returns the tasks started (what changed of them), in the order given.
 */
export async function startTasks(db: Kysely<Database>, starts: readonly { taskId: string; at: Date }[]): Promise<StatusChange[]> {
  if (starts.length === 0) return [];
  return inTransaction(db, async (trx) => {
    const values = sql.join(starts.map((s) => sql`(${s.taskId}::text, ${s.at}::timestamptz)`));
    // Only what recording the change needs: a thousand agents' reports parse no whole rows.
    const { rows } = await sql<StatusChange>`
      UPDATE tasks SET status = 'RUNNING', started_at = v.at, ${await statusLineCounters('RUNNING')}
        FROM (VALUES ${values}) AS v (id, at)
       WHERE tasks.id = v.id AND tasks.status = 'PENDING'
      RETURNING tasks.id, tasks.status, tasks.desired_status, tasks.log_count`.execute(trx);
    const byId = new Map(rows.map((row) => [row.id, row]));
    const started = starts.flatMap((s) => {
      const row = byId.get(s.taskId);
      return row ? [{ row, at: s.at }] : [];
    });
    await recordCountedStatuses(trx, started);
    return started.map(({ row }) => row);
  });
}

/**
 * What every status a task takes leaves behind, its first included: the event and the [system]
 * line(s), a change's `after` lines following its status line. Several tasks at once, each at its
 * own time: their events in one statement.
 */
async function recordStatuses(trx: Transaction<Database>, changes: { row: TaskRow; at: Date; after?: NewLogLine[] }[], message: string | undefined): Promise<void> {
  if (changes.length === 0) return;
  await dropTaskFiles(trx, doneWithFiles(changes));
  await trx.insertInto('task_events').values(statusEvents(changes, message)).execute();
  await appendLogLinesOfTasks(
    trx,
    changes.map(({ row, at, after }) => ({ taskId: row.id, lines: [...statusLines(row, message, at), ...(after ?? [])] })),
  );
}

/**
 * The SET of a batch's status change to `status` that moves each task's log counters for its
 * [system] line too (`Task status is X, desired status is Y`, Y as the row has it): the row gets
 * one new version, not a second for its counters (`recordCountedStatuses` stores the line).
 */
function statusLineCounters(status: TaskStatus): Promise<RawBuilder<unknown>> {
  // The same for every batch of a status: worked out once.
  let counters = lineCountersOf.get(status);
  if (!counters) lineCountersOf.set(status, (counters = statusLineCountersOnce(status)));
  return counters;
}
const lineCountersOf = new Map<TaskStatus, Promise<RawBuilder<unknown>>>();

async function statusLineCountersOnce(status: TaskStatus): Promise<RawBuilder<unknown>> {
  const at = new Date(0);
  // A branch for every desired status the protocol has: the column holds no other (written only here).
  const counted = await Promise.all(DesiredStatus.options.map(async (desired) => ({ desired, ...(await lineCounters(statusLines({ status, desired_status: desired }, undefined, at))) })));
  const bytes = sql.join(counted.map((c) => sql`WHEN ${c.desired}::text THEN ${c.log_bytes}::bigint`), sql` `);
  const lines = sql.join(counted.map((c) => sql`WHEN ${c.desired}::text THEN ${c.log_count}::integer`), sql` `);
  return sql`log_count = tasks.log_count + CASE tasks.desired_status ${lines} END, log_bytes = tasks.log_bytes + CASE tasks.desired_status ${bytes} END`;
}

/**
 * `recordStatuses` for rows whose counters their UPDATE already moved (`statusLineCounters`):
 * the events, the lines at the positions counted and, for a task now running or stopped, its
 * files dropped, in one statement.
 */
async function recordCountedStatuses(trx: Transaction<Database>, changes: { row: StatusChange; at: Date }[]): Promise<void> {
  if (changes.length === 0) return;
  const chunks = await countedChunkRows(changes.map(({ row, at }) => ({ taskId: row.id, lastPosition: row.log_count, lines: statusLines(row, undefined, at) })));
  const done = doneWithFiles(changes);
  const withEvents = trx.with('e', (q) => q.insertInto('task_events').values(statusEvents(changes, undefined)));
  if (done.length === 0) await withEvents.insertInto('task_log_chunks').values(chunks).execute();
  else await withEvents.with('f', (q) => q.deleteFrom('task_files').where('task_id', 'in', done)).insertInto('task_log_chunks').values(chunks).execute();
}

/** A task event per change. */
function statusEvents(changes: readonly { row: StatusChange; at: Date }[], message: string | undefined) {
  return changes.map(({ row, at }) => ({ task_id: row.id, status: row.status, desired_status: row.desired_status, message: message ?? null, created_at: at }));
}

/** A task's --files are written before it runs: running or stopped, it needs them no more. */
function doneWithFiles(changes: readonly { row: Pick<TaskRow, 'id' | 'status'> }[]): string[] {
  return changes.filter(({ row }) => row.status === 'RUNNING' || row.status === 'STOPPED').map(({ row }) => row.id);
}

/** The [system] lines a status leaves: `Task status is X, desired status is Y`, and `message` as its own line. */
function statusLines(row: Pick<TaskRow, 'status' | 'desired_status'>, message: string | undefined, at: Date): NewLogLine[] {
  const own: NewLogLine[] = [{ seq: null, stream: 'system', text: `Task status is ${row.status}, desired status is ${row.desired_status}`, at }];
  if (message) own.push({ seq: null, stream: 'system', text: message, at });
  return own;
}

/**
 * The [system] lines of a stop: `describeStop`, then, when output was dropped past the task's
 * log limit, how much in all (the last line, so the count is the last thing `show logs` says).
 */
export function stopLines(row: Pick<TaskRow, 'stop_code' | 'exit_code' | 'stop_reason' | 'stopped_by' | 'log_dropped_bytes' | 'log_dropped_lines'>, at: Date): NewLogLine[] {
  const lines: NewLogLine[] = [{ seq: null, stream: 'system', text: describeStop(row), at }];
  const dropped = Number(row.log_dropped_lines);
  if (dropped > 0) {
    const text = `Log limit: ${Number(row.log_dropped_bytes)} bytes (${dropped} lines) of the task's output were dropped, not stored (TAPIT_LOG_MAX_BYTES_PER_TASK)`;
    lines.push({ seq: null, stream: 'system', text, at });
  }
  return lines;
}

/** A human line for a stopped task: `Task stopped: EXITED (exit code 3)`. */
export function describeStop(row: Pick<TaskRow, 'stop_code' | 'exit_code' | 'stop_reason' | 'stopped_by'>): string {
  const parts = [`Task stopped: ${row.stop_code}`];
  if (row.exit_code !== null) parts.push(`(exit code ${row.exit_code})`);
  if (row.stopped_by) parts.push(`by ${row.stopped_by}`);
  if (row.stop_reason) parts.push(`- ${row.stop_reason}`);
  return parts.join(' ');
}
