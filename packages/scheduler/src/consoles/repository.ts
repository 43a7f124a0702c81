import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { recordAudit } from '../audit/record.js';
import { inTransaction } from '../db/transaction.js';
import { notFound } from '../domain/domain-error.js';

export interface NewConsoleSession {
  id: string;
  taskId: string;
  mode: 'attach' | 'exec';
  command: string[] | null;
  tty: boolean;
  cols: number;
  rows: number;
  openedBy: string;
  /** The upgrade's X-Initiated-By. */
  initiatedBy: string | null;
  source: string | null;
  /** The replica relaying it. */
  schedulerId: string;
  inputRecorded: boolean;
}

/** Stores a new session and its `console.attach` / `console.exec` audit row, together. */
export async function openConsoleSession(db: Kysely<Database>, s: NewConsoleSession & { project: string }): Promise<void> {
  await inTransaction(db, async (trx) => {
    await insertConsoleSession(trx, s);
    await recordAudit(trx, {
      actor: s.openedBy,
      initiatedBy: s.initiatedBy,
      action: s.mode === 'exec' ? 'console.exec' : 'console.attach',
      targetType: 'task',
      targetId: s.taskId,
      project: s.project,
      source: s.source,
      details: { session: s.id, command: s.command, tty: s.tty },
    });
  });
}

export async function insertConsoleSession(db: Kysely<Database>, s: NewConsoleSession): Promise<void> {
  await db
    .insertInto('console_sessions')
    .values({
      id: s.id,
      task_id: s.taskId,
      mode: s.mode,
      command: JSON.stringify(s.command),
      tty: s.tty,
      cols: s.cols,
      rows: s.rows,
      opened_by: s.openedBy,
      initiated_by: s.initiatedBy,
      source: s.source,
      scheduler_id: s.schedulerId,
      input_recorded: s.inputRecorded,
    })
    .execute();
}

export async function closeConsoleSession(db: Kysely<Database>, id: string, end: { reason: string; exitCode: number | null }): Promise<void> {
  await db
    .updateTable('console_sessions')
    .set({ closed_at: new Date(), end_reason: end.reason, exit_code: end.exitCode })
    .where('id', '=', id)
    .where('closed_at', 'is', null)
    .execute();
}

/** A session as its end is audited. */
export interface EndedConsoleSession {
  id: string;
  taskId: string;
  mode: 'attach' | 'exec';
  openedBy: string;
  initiatedBy: string | null;
  source: string | null;
  project: string;
}

/**
 * Closes a session and records its end in the audit trail in one transaction: `console.exec.end`,
 * `console.end` (the program exited) or `console.detach` (the client or the relay went).
 */
export async function endConsoleSession(db: Kysely<Database>, session: EndedConsoleSession, end: { reason: string; exitCode: number | null }): Promise<void> {
  await inTransaction(db, async (trx) => {
    await closeConsoleSession(trx, session.id, end);
    await recordAudit(trx, {
      actor: session.openedBy,
      initiatedBy: session.initiatedBy,
      action: session.mode === 'exec' ? 'console.exec.end' : end.reason === 'exited' ? 'console.end' : 'console.detach',
      targetType: 'task',
      targetId: session.taskId,
      project: session.project,
      source: session.source,
      details: { session: session.id, reason: end.reason, exitCode: end.exitCode },
    });
  });
}

/** Why a session a replica held when it died was closed, and the marker that ends its recording. */
export const HOLDER_GONE_REASON = 'scheduler gone';
const HOLDER_GONE_MARKER = 'recording ends here: the scheduler relaying this session stopped';

/**
 * Closes the sessions `schedulerId` left open when it died (killed, crashed): each recording
 * ends at its last stored chunk with a marker event, the session with HOLDER_GONE_REASON, and
 * the audit trail with the session's end. Only this replica's own: a session of another,
 * running replica is live. Called at start, before this replica relays anything.
 */
export async function closeAbandonedConsoleSessions(db: Kysely<Database>, schedulerId: string): Promise<string[]> {
  const open = await db
    .selectFrom('console_sessions')
    .innerJoin('tasks', 'tasks.id', 'console_sessions.task_id')
    .innerJoin('apps', 'apps.id', 'tasks.app_id')
    .select(['console_sessions.id', 'console_sessions.task_id', 'console_sessions.mode', 'console_sessions.opened_by', 'console_sessions.initiated_by', 'console_sessions.source', 'apps.project'])
    .where('console_sessions.scheduler_id', '=', schedulerId)
    .where('console_sessions.closed_at', 'is', null)
    .execute();
  for (const session of open) {
    await inTransaction(db, async (trx) => {
      const last = await trx.selectFrom('console_recording_chunks').select(['seq', 'events']).where('session_id', '=', session.id).orderBy('seq', 'desc').limit(1).executeTakeFirst();
      const lastLine = last?.events.trimEnd().split('\n').pop();
      const at = lastLine ? (JSON.parse(lastLine) as [number])[0] : 0;
      await trx
        .insertInto('console_recording_chunks')
        .values({ session_id: session.id, seq: (last?.seq ?? 0) + 1, events: `${JSON.stringify([at, 'm', HOLDER_GONE_MARKER])}\n` })
        .execute();
      const ended = {
        id: session.id,
        taskId: session.task_id,
        mode: session.mode as 'attach' | 'exec',
        openedBy: session.opened_by,
        initiatedBy: session.initiated_by,
        source: session.source,
        project: session.project,
      };
      await endConsoleSession(trx, ended, { reason: HOLDER_GONE_REASON, exitCode: null });
    });
  }
  return open.map((s) => s.id);
}

export async function listConsoleSessions(db: Kysely<Database>, taskId: string) {
  const rows = await db.selectFrom('console_sessions').selectAll().where('task_id', '=', taskId).orderBy('opened_at').execute();
  return rows.map((r) => ({
    id: r.id,
    taskId: r.task_id,
    mode: r.mode as 'attach' | 'exec',
    command: r.command,
    tty: r.tty,
    openedBy: r.opened_by,
    openedAt: r.opened_at.toISOString(),
    closedAt: r.closed_at ? r.closed_at.toISOString() : null,
    exitCode: r.exit_code,
    endReason: r.end_reason,
    inputRecorded: r.input_recorded,
  }));
}

/** Chunks of a recording read at a time: at most about 1 MiB of events (a chunk holds ~64 KiB). */
const RECORDING_PAGE_CHUNKS = 16;

/**
 * The session's recording as an asciicast v2 file: its header line, then its event lines read a
 * page of chunks at a time, so sending a long recording holds one page in memory, not the file.
 */
export async function openRecording(db: Kysely<Database>, sessionId: string, project: string | null): Promise<{ header: string; events: () => AsyncGenerator<string> }> {
  let query = db
    .selectFrom('console_sessions')
    .innerJoin('tasks', 'tasks.id', 'console_sessions.task_id')
    .innerJoin('apps', 'apps.id', 'tasks.app_id')
    .selectAll('console_sessions')
    .where('console_sessions.id', '=', sessionId);
  if (project) query = query.where('apps.project', '=', project);
  const session = await query.executeTakeFirst();
  if (!session) throw notFound(`console session "${sessionId}"`, 'session');
  const header = {
    version: 2,
    width: session.cols,
    height: session.rows,
    timestamp: Math.floor(session.opened_at.getTime() / 1000),
    title: session.mode === 'exec' ? `exec ${(session.command ?? []).join(' ')} in task ${session.task_id}` : `console of task ${session.task_id}`,
  };
  async function* events() {
    for (let after = 0; ; ) {
      const page = await db
        .selectFrom('console_recording_chunks')
        .select(['seq', 'events'])
        .where('session_id', '=', sessionId)
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(RECORDING_PAGE_CHUNKS)
        .execute();
      if (page.length > 0) yield page.map((chunk) => chunk.events).join('');
      if (page.length < RECORDING_PAGE_CHUNKS) return;
      after = page[page.length - 1]!.seq;
    }
  }
  return { header: `${JSON.stringify(header)}\n`, events };
}
