import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { notFound } from '../http/api-error.js';

export interface NewConsoleSession {
  id: string;
  taskId: string;
  mode: 'attach' | 'exec';
  command: string[] | null;
  tty: boolean;
  cols: number;
  rows: number;
  openedBy: string;
  source: string | null;
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
      source: s.source,
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
  }));
}

/** The session's recording as an asciicast v2 file: header line, then every event line. */
export async function readRecording(db: Kysely<Database>, sessionId: string, project: string | null): Promise<string> {
  let query = db
    .selectFrom('console_sessions')
    .innerJoin('tasks', 'tasks.id', 'console_sessions.task_id')
    .innerJoin('apps', 'apps.id', 'tasks.app_id')
    .selectAll('console_sessions')
    .where('console_sessions.id', '=', sessionId);
  if (project) query = query.where('apps.project', '=', project);
  const session = await query.executeTakeFirst();
  if (!session) throw notFound(`console session "${sessionId}"`, 'session');
  const chunks = await db.selectFrom('console_recording_chunks').select('events').where('session_id', '=', sessionId).orderBy('seq').execute();
  const header = {
    version: 2,
    width: session.cols,
    height: session.rows,
    timestamp: Math.floor(session.opened_at.getTime() / 1000),
    title: session.mode === 'exec' ? `exec ${(session.command ?? []).join(' ')} in task ${session.task_id}` : `console of task ${session.task_id}`,
  };
  return `${JSON.stringify(header)}\n${chunks.map((c) => c.events).join('')}`;
}
