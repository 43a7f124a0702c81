import type { ScheduleRunAttempt } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import type { Database, ScheduleRunRow } from '../db/schema.js';

export const slotKey = (scheduleId: string, at: Date) => `${scheduleId}|${at.getTime()}`;

/** The tasks of one slot, first attempt first (what an alert lists). */
export async function slotAttempts(db: Kysely<Database>, run: ScheduleRunRow): Promise<ScheduleRunAttempt[]> {
  return (await attemptsOf(db, [run])).get(slotKey(run.schedule_id, run.scheduled_for)) ?? [];
}

/** The tasks of these slots, by slot, first attempt first. */
export async function attemptsOf(db: Kysely<Database>, runs: ScheduleRunRow[]): Promise<Map<string, ScheduleRunAttempt[]>> {
  const bySlot = new Map<string, ScheduleRunAttempt[]>();
  if (runs.length === 0) return bySlot;
  const rows = await db
    .selectFrom('tasks')
    .select(['id', 'schedule_id', 'scheduled_for', 'schedule_attempt', 'status', 'stop_code', 'exit_code'])
    .where('schedule_id', 'in', [...new Set(runs.map((run) => run.schedule_id))])
    .where('scheduled_for', 'in', [...new Set(runs.map((run) => run.scheduled_for.getTime()))].map((ms) => new Date(ms)))
    .orderBy('schedule_attempt')
    .execute();
  for (const row of rows) {
    const key = slotKey(row.schedule_id!, row.scheduled_for!);
    const list = bySlot.get(key) ?? [];
    list.push({
      attempt: row.schedule_attempt ?? 1,
      taskId: row.id,
      status: row.status as ScheduleRunAttempt['status'],
      stopCode: row.stop_code as ScheduleRunAttempt['stopCode'],
      exitCode: row.exit_code,
    });
    bySlot.set(key, list);
  }
  return bySlot;
}
