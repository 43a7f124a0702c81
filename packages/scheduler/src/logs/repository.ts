import { countLines, linesOfRun, sliceRuns, toRuns, type LogChunk, type LogRun, type LogStream } from '@tapit/protocol';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { inTransaction } from '../db/transaction.js';
import { ownedBy, type TaskOwner } from '../agents/ownership.js';
import { formatBytes } from '../format-bytes.js';
import { decodeChunkBody, encodeChunk, storableLogText, type EncodedChunk } from './chunk-body.js';

export interface NewLogLine {
  seq: number | null;
  stream: LogStream;
  text: string;
  at: Date;
}

/**
 * A stored chunk as readers hand it on: the JSON of its runs (LogRun[]), parsed only where it
 * must be cut, so a page or a follow sends what the database holds without building a line.
 */
export interface StoredChunk {
  first: number;
  lines: number;
  runs: string;
}

/** `{"first":N,"runs":[…]}`: a LogChunk's JSON, from its stored runs. */
export function chunkJson(chunk: StoredChunk): string {
  return `{"first":${chunk.first},"runs":${chunk.runs}}`;
}

export function parseChunk(chunk: StoredChunk): LogChunk {
  return { first: chunk.first, runs: JSON.parse(chunk.runs) as LogRun[] };
}

/**
 * Appends lines to a task's log (one chunk). Positions come from the task row's counter, which
 * the UPDATE locks until commit: writers of one task take turns, so positions commit in order
 * and a follower reading "after N" can never skip a line that commits later.
 */
export async function appendLogLines(db: Kysely<Database>, taskId: string, lines: NewLogLine[]): Promise<void> {
  await appendLogLinesOfTasks(db, [{ taskId, lines }]);
}

/**
 * `appendLogLines` for several tasks (new tasks' first lines, a firing batch's), a chunk each:
 * their counters and chunks in one statement, however many tasks (each task once).
 */
export async function appendLogLinesOfTasks(db: Kysely<Database>, logs: { taskId: string; lines: NewLogLine[] }[]): Promise<void> {
  const nonEmpty = logs.filter((log) => log.lines.length > 0);
  if (nonEmpty.length === 0) return;
  const chunks = await Promise.all(nonEmpty.map(({ lines }) => encodeLines(lines)));
  await inTransaction(db, async (trx) => {
    // Agent lines move last_agent_seq too: those go one task at a time.
    if (nonEmpty.length === 1 || nonEmpty.some((log) => log.lines[0]!.seq !== null)) {
      for (const [i, log] of nonEmpty.entries()) await appendChunk(trx, log.taskId, log.lines[0]!.seq, chunks[i]!);
      return;
    }
    // The counters moved and the chunks stored in one statement: a round trip is most of the cost.
    const values = sql.join(
      nonEmpty.map((log, i) => {
        const chunk = chunks[i]!;
        return sql`(${log.taskId}::text, ${chunk.lines}::integer, ${chunk.textBytes}::integer, ${chunk.streams}::smallint, ${chunk.earliestAt}::timestamptz, ${chunk.latestAt}::timestamptz, ${chunk.encoding}::smallint, ${chunk.body.toString('hex')}::text)`;
      }),
    );
    const { rows } = await sql<{ task_id: string }>`
      WITH v (id, lines, bytes, streams, earliest_at, latest_at, encoding, body) AS (VALUES ${values}),
      moved AS (
        UPDATE tasks SET log_count = tasks.log_count + v.lines, log_bytes = tasks.log_bytes + v.bytes
          FROM v WHERE tasks.id = v.id
        RETURNING tasks.id, tasks.log_count)
      INSERT INTO task_log_chunks (task_id, first_position, last_position, first_seq, streams, earliest_at, latest_at, text_bytes, encoding, body)
      SELECT moved.id, moved.log_count - v.lines + 1, moved.log_count, NULL, v.streams, v.earliest_at, v.latest_at, v.bytes, v.encoding, decode(v.body, 'hex')
        FROM moved JOIN v ON v.id = moved.id
      RETURNING task_id`.execute(trx);
    if (rows.length !== nonEmpty.length) throw new Error(`appending log lines: ${nonEmpty.length - rows.length} of the tasks do not exist`);
  });
}

/**
 * The first lines of tasks being born (the same lines for each), encoded once: the counters their
 * rows start with, and the chunk row of each, so the rows, their events and their logs go in one
 * statement (lifecycle.ts beginTasks). What `appendLogLinesOfTasks` would store, without its
 * counter update: a new row is locked by its own insert until commit.
 */
export async function firstChunk(lines: NewLogLine[]): Promise<{ counters: LineCounters; chunk: (taskId: string) => ReturnType<typeof chunkRow> }> {
  const chunk = await encodeLines(lines);
  return { counters: { log_count: chunk.lines, log_bytes: chunk.textBytes }, chunk: (taskId) => chunkRow(taskId, chunk.lines, null, chunk) };
}

/** How far lines move a task's log counters. */
export interface LineCounters {
  log_count: number;
  log_bytes: number;
}

/** How far `lines` move a task's counters once stored (their text as stored, see storableLogText). */
export async function lineCounters(lines: NewLogLine[]): Promise<LineCounters> {
  const chunk = await encodeLines(lines);
  return { log_count: chunk.lines, log_bytes: chunk.textBytes };
}

/**
 * The chunk rows of lines whose counters the caller already moved by `lineCounters`, in its own
 * UPDATE of the task rows (`lastPosition`: the task's log_count after it). A status change of a
 * batch so leaves one new version of each task row, not a second one for its counters.
 */
export async function countedChunkRows(logs: readonly { taskId: string; lastPosition: number; lines: NewLogLine[] }[]): Promise<ReturnType<typeof chunkRow>[]> {
  return Promise.all(logs.map(async ({ taskId, lastPosition, lines }) => chunkRow(taskId, lastPosition, null, await encodeLines(lines))));
}

function encodeLines(lines: NewLogLine[]): Promise<EncodedChunk> {
  return encodeChunk(toRuns(lines.map((line) => ({ stream: line.stream, text: line.text, at: line.at.toISOString() }))));
}

/** The task_log_chunks row of a chunk whose last line is at `lastPosition`. */
function chunkRow(taskId: string, lastPosition: number, firstSeq: number | null, chunk: EncodedChunk) {
  return {
    task_id: taskId,
    first_position: lastPosition - chunk.lines + 1,
    last_position: lastPosition,
    first_seq: firstSeq,
    streams: chunk.streams,
    earliest_at: chunk.earliestAt,
    latest_at: chunk.latestAt,
    text_bytes: chunk.textBytes,
    encoding: chunk.encoding,
    body: bodyParameter(chunk.body),
  };
}

/** Stores a chunk at the task's next positions (returns the first); agent lines also move the task's `last_agent_seq`. */
async function appendChunk(trx: Transaction<Database>, taskId: string, firstSeq: number | null, chunk: EncodedChunk): Promise<number> {
  const { log_count } = await trx
    .updateTable('tasks')
    .set((eb) => ({
      log_count: eb('log_count', '+', chunk.lines),
      log_bytes: eb('log_bytes', '+', chunk.textBytes),
      ...(firstSeq === null ? {} : { last_agent_seq: firstSeq + chunk.lines - 1 }),
    }))
    .where('id', '=', taskId)
    .returning('log_count')
    .executeTakeFirstOrThrow();
  await trx.insertInto('task_log_chunks').values(chunkRow(taskId, log_count, firstSeq, chunk)).execute();
  return log_count - chunk.lines + 1;
}

/**
 * Stores agent lines `seq`, `seq + 1`, … (as runs), from the agent the task is placed on only:
 * lines already stored (a re-send after a reconnect, whole or overlapping) are dropped, and a
 * chunk that would leave a gap is refused, so the answer — the highest contiguous seq stored —
 * tells the agent exactly where to resume.
 */
export async function storeAgentChunk(
  db: Kysely<Database>,
  agentName: string,
  taskId: string,
  seq: number,
  runs: readonly LogRun[],
  /** Tasks placed on the name before then were an earlier agent's (agents.bound_at). */
  placedSince: Date | null = null,
  options: StoreOptions = {},
): Promise<number | undefined> {
  const owner = { name: agentName, since: placedSince };
  const { maxBytes } = options;
  // Deflated in the thread pool first: nearly always every line is new, and the chunk is stored
  // by one statement.
  const encoded = await (options.encoding ?? encodeChunk(runs));
  // Seqs are stored as 32-bit integers: a chunk past them (task.log does not bound seq) is a gap.
  const fits = seq + encoded.lines - 1 <= MAX_INT32;
  const first = fits ? await appendNextAgentChunk(db, owner, taskId, seq, encoded, maxBytes) : null;
  if (first !== null) {
    options.onStored?.({ first, lines: encoded.lines, runs: encoded.json });
    return seq + encoded.lines - 1;
  }
  const stored = await inTransaction(db, async (trx) => {
    const task = await trx
      .selectFrom('tasks')
      .select(['last_agent_seq', 'log_bytes', 'log_dropped_lines'])
      .where('id', '=', taskId)
      .where(ownedBy(owner))
      .forUpdate()
      .executeTakeFirst();
    if (!task) return undefined;
    const last = task.last_agent_seq;
    const skip = last + 1 - seq;
    if (skip < 0 || skip >= encoded.lines || !fits) return { last }; // a gap (wait for the missing lines), or nothing new
    const fresh = encoded.lines - skip;
    // Past the task's limit, lines are dropped — from the first that does not fit on, never a
    // line here and there — and acknowledged all the same, so the agent's spool moves on.
    const keep = maxBytes === undefined ? fresh : task.log_dropped_lines > 0 ? 0 : linesWithin(sliceRuns(runs, skip), maxBytes - Number(task.log_bytes));
    let added: StoredChunk | undefined;
    if (keep > 0) {
      const chunk = skip === 0 && keep === fresh ? encoded : await encodeChunk(sliceRuns(runs, skip, keep));
      const position = await appendChunk(trx, taskId, last + 1, chunk);
      added = { first: position, lines: chunk.lines, runs: chunk.json };
    }
    if (keep < fresh) await dropAgentLines(trx, taskId, last + fresh, sliceRuns(runs, skip + keep), task.log_dropped_lines === 0, maxBytes!);
    return { last: last + fresh, added };
  });
  if (stored?.added) options.onStored?.(stored.added);
  return stored?.last;
}

/** The largest seq and position stored (integer columns). */
const MAX_INT32 = 2147483647;

export interface StoreOptions {
  /** encodeChunk(runs), started already. */
  encoding?: Promise<EncodedChunk>;
  /** Told of the chunk stored, once committed. */
  onStored?: (chunk: StoredChunk) => void;
  /** TAPIT_LOG_MAX_BYTES_PER_TASK: output past this many bytes of the task's log is dropped. */
  maxBytes?: number;
}

/** How many of the runs' first lines fit in `room` bytes of output (each line with its line break). */
function linesWithin(runs: readonly LogRun[], room: number): number {
  let lines = 0;
  for (const run of runs) {
    for (const text of linesOfRun(run)) {
      room -= Buffer.byteLength(storableLogText(text)) + 1;
      if (room < 0) return lines;
      lines++;
    }
  }
  return lines;
}

/**
 * Drops agent lines past the task's log limit: counted on the task and acknowledged (its
 * `last_agent_seq` moves to `lastSeq`), never stored. The first drop says so in a [system] line;
 * the total is said when the task stops (`stopLines`).
 */
async function dropAgentLines(trx: Transaction<Database>, taskId: string, lastSeq: number, runs: readonly LogRun[], first: boolean, maxBytes: number): Promise<void> {
  const lines = countLines(runs);
  const bytes = runs.reduce((n, run) => n + Buffer.byteLength(storableLogText(run.text)), 0);
  await trx
    .updateTable('tasks')
    .set((eb) => ({
      last_agent_seq: lastSeq,
      log_dropped_bytes: eb('log_dropped_bytes', '+', bytes),
      log_dropped_lines: eb('log_dropped_lines', '+', lines),
    }))
    .where('id', '=', taskId)
    .execute();
  if (!first) return;
  const text = `Log limit reached: the task's log holds at most ${formatBytes(maxBytes)} (TAPIT_LOG_MAX_BYTES_PER_TASK); its further output is dropped, ${bytes} bytes (${lines} lines) so far, and counted when it stops`;
  await appendLogLines(trx, taskId, [{ seq: null, stream: 'system', text, at: new Date() }]);
}

/**
 * appendChunk in one statement (no transaction of round trips) for the usual chunk: the next
 * lines of a task of `owner`. The UPDATE locks the task row until the statement commits, so
 * positions still commit in order. Returns the chunk's first position; null when the chunk is
 * not exactly the next one (a re-send, a gap) or the task is not the owner's: storeAgentChunk
 * then looks closer.
 */
async function appendNextAgentChunk(db: Kysely<Database>, owner: TaskOwner, taskId: string, seq: number, chunk: EncodedChunk, maxBytes: number | undefined): Promise<number | null> {
  const row = await db
    .with('moved', (qb) => {
      const update = qb
        .updateTable('tasks')
        .set((eb) => ({
          log_count: eb('log_count', '+', chunk.lines),
          log_bytes: eb('log_bytes', '+', chunk.textBytes),
          last_agent_seq: seq + chunk.lines - 1,
        }))
        .where('id', '=', taskId)
        .where(ownedBy(owner))
        .where('last_agent_seq', '=', seq - 1);
      // A chunk that would take the log past its limit is for storeAgentChunk to cut.
      const bounded = maxBytes === undefined ? update : update.where('log_dropped_lines', '=', 0).where(sql<number>`log_bytes + ${chunk.textBytes}::bigint`, '<=', maxBytes);
      return bounded.returning('log_count');
    })
    .insertInto('task_log_chunks')
    .columns(['task_id', 'first_position', 'last_position', 'first_seq', 'streams', 'earliest_at', 'latest_at', 'text_bytes', 'encoding', 'body'])
    .expression((eb) =>
      eb
        .selectFrom('moved')
        .select([
          sql<string>`${taskId}::text`.as('task_id'),
          sql<number>`moved.log_count - ${chunk.lines - 1}::integer`.as('first_position'),
          sql<number>`moved.log_count`.as('last_position'),
          sql<number>`${seq}::integer`.as('first_seq'),
          sql<number>`${chunk.streams}::smallint`.as('streams'),
          sql<Date>`${chunk.earliestAt}::timestamptz`.as('earliest_at'),
          sql<Date>`${chunk.latestAt}::timestamptz`.as('latest_at'),
          sql<number>`${chunk.textBytes}::integer`.as('text_bytes'),
          sql<number>`${chunk.encoding}::smallint`.as('encoding'),
          bodyParameter(chunk.body).as('body'),
        ]),
    )
    .returning('last_position')
    .executeTakeFirst();
  return row ? row.last_position - chunk.lines + 1 : null;
}

/*
 * Bodies cross to the database as hex text, decoded and encoded there: PGlite turns a bytea
 * parameter or column into hex and back a byte at a time in JavaScript (seconds per hundred MB),
 * where Buffer's hex and Postgres' decode()/encode() take milliseconds.
 */
const bodyParameter = (body: Buffer) => sql<Buffer>`decode(${body.toString('hex')}::text, 'hex')`;
const bodyColumn = sql<string>`encode(body, 'hex')`.as('body_hex');

/** storeAgentChunk for lines one by one (`task.log`, as agents before chunks send them). */
export function storeAgentLog(
  db: Kysely<Database>,
  agentName: string,
  taskId: string,
  seq: number,
  lines: Omit<NewLogLine, 'seq'>[],
  placedSince: Date | null = null,
  options: Pick<StoreOptions, 'maxBytes'> = {},
): Promise<number | undefined> {
  const runs = toRuns(lines.map((line) => ({ stream: line.stream, text: line.text, at: line.at.toISOString() })));
  return storeAgentChunk(db, agentName, taskId, seq, runs, placedSince, options);
}

/** Chunk rows read at a time: up to 4 MiB of text. */
const CHUNK_ROWS = 16;
/** Lines of the per-line layout read at a time. */
const LINE_ROWS = 5000;

export interface ChunkRead {
  chunks: StoredChunk[];
  /** Stopped at `maxLines` or `maxBytes`: there may be more. */
  more: boolean;
}

export interface ChunkReadOptions {
  /** Stop once this many lines are read (the last chunk is cut to fit). */
  maxLines?: number;
  /** Stop once about this many bytes of text are read (whole chunks: at least one). */
  maxBytes?: number;
}

/**
 * The task's log after position `after` as chunks, oldest first: whole stored chunks, the first
 * cut to start at `after + 1`. Lines stored before migration 0014 (`task_log_lines`, one row per
 * line) fill the positions no chunk holds, so either layout reads the same.
 */
export async function readLogChunks(db: Kysely<Database>, taskId: string, after: number, options: ChunkReadOptions = {}): Promise<ChunkRead> {
  const maxLines = options.maxLines ?? Infinity;
  const maxBytes = options.maxBytes ?? Infinity;
  const out: StoredChunk[] = [];
  let next = after + 1;
  let lines = 0;
  let bytes = 0;
  const full = () => lines >= maxLines || bytes >= maxBytes;
  const take = (chunk: StoredChunk, textBytes: number) => {
    out.push(chunk);
    lines += chunk.lines;
    bytes += textBytes;
    next = chunk.first + chunk.lines;
  };
  /** Lines of the per-line layout from `next` up to `to`, as chunks. */
  const fromLineRows = async (to: number) => {
    while (!full() && next <= to) {
      const rows = await db
        .selectFrom('task_log_lines')
        .select(['position', 'stream', 'text', 'logged_at'])
        .where('task_id', '=', taskId)
        .where('position', '>=', next)
        .where('position', '<=', Math.min(to, MAX_INT32))
        .orderBy('position')
        .limit(Math.min(LINE_ROWS, maxLines - lines))
        .execute();
      if (rows.length === 0) return;
      for (const chunk of lineRowsAsChunks(rows)) take(chunk, chunk.runs.length);
      if (rows.length < LINE_ROWS) return;
    }
  };
  for (;;) {
    const rows = await db
      .selectFrom('task_log_chunks')
      .select(['first_position', 'last_position', 'text_bytes', 'encoding', bodyColumn])
      .where('task_id', '=', taskId)
      .where('last_position', '>=', next)
      .orderBy('last_position')
      .limit(CHUNK_ROWS)
      .execute();
    // Each body is inflated in the thread pool while the one before it is handled.
    const decode = (row: (typeof rows)[number] | undefined) => {
      if (!row) return null;
      const body = decodeChunkBody(row.encoding, Buffer.from(row.body_hex, 'hex'));
      body.catch(() => undefined); // not awaited if this read stops first
      return body;
    };
    let decoding = decode(rows[0]);
    for (const [i, row] of rows.entries()) {
      const body = decoding!;
      decoding = decode(rows[i + 1]);
      if (row.first_position > next) await fromLineRows(row.first_position - 1);
      if (full()) return { chunks: out, more: true };
      next = Math.max(next, row.first_position);
      let chunk: StoredChunk = { first: row.first_position, lines: row.last_position - row.first_position + 1, runs: await body };
      const skip = next - chunk.first;
      const room = maxLines - lines;
      if (skip > 0 || chunk.lines - skip > room) {
        const runs = sliceRuns(JSON.parse(chunk.runs) as LogRun[], skip, room);
        chunk = { first: next, lines: countLines(runs), runs: JSON.stringify(runs) };
      }
      take(chunk, row.text_bytes);
      if (full()) return { chunks: out, more: true };
    }
    if (rows.length < CHUNK_ROWS) break;
  }
  await fromLineRows(Infinity);
  return { chunks: out, more: full() };
}

/** Rows of the per-line layout as chunks: one per run of consecutive positions. */
function lineRowsAsChunks(rows: { position: number; stream: string; text: string; logged_at: Date }[]): StoredChunk[] {
  const chunks: StoredChunk[] = [];
  let start = 0;
  for (let i = 1; i <= rows.length; i++) {
    if (i < rows.length && rows[i]!.position === rows[i - 1]!.position + 1) continue;
    const part = rows.slice(start, i);
    const runs = toRuns(part.map((r) => ({ stream: r.stream as LogStream, text: r.text, at: r.logged_at.toISOString() })));
    chunks.push({ first: part[0]!.position, lines: part.length, runs: JSON.stringify(runs) });
    start = i;
  }
  return chunks;
}

/**
 * The task's status and whether its log is complete: STOPPED, and not waiting for its agent's
 * late report (a task the scheduler ended while its agent was cut off: see backstops.ts). With
 * `log_count`, the last position committed when it was read: a reader that has every line up to
 * it has every line stored before the status it read.
 */
export function readLogState(db: Kysely<Database>, taskId: string) {
  return db
    .selectFrom('tasks')
    .select(['status', 'exit_code', 'log_expired_at', 'log_count'])
    .select(sql<boolean>`status = 'STOPPED' AND (late_report_until IS NULL OR late_report_until <= now())`.as('complete'))
    .where('id', '=', taskId)
    .executeTakeFirst();
}
export type LogState = NonNullable<Awaited<ReturnType<typeof readLogState>>>;

/** How many lines the task's log holds (positions 1 to this). */
export async function storedLineCount(db: Kysely<Database>, taskId: string): Promise<number> {
  const row = await db.selectFrom('tasks').select('log_count').where('id', '=', taskId).executeTakeFirst();
  return row?.log_count ?? 0;
}

