/*
 * RELIABILITY.md scenario 9, shortened: the scheduler process is stopped across slots of
 * seconds-level schedules and started again on the same Postgres database. Every slot must be
 * accounted for exactly once: fired, or recorded as skipped by the schedule's missed-run policy.
 * A short tolerance (TAPIT_SCHEDULE_MISSED_AFTER_SECONDS=1) makes seconds of downtime an outage.
 */
import type { ScheduleDetail, ScheduleRun, TaskList } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

const APP = '/v1/projects/default/stages/default/apps';
const ENV = { TAPIT_SCHEDULE_MISSED_AFTER_SECONDS: '1' };
const DOWNTIME_MS = 4000;

let database: FreshDatabase;
let scheduler: RunningScheduler;
let token: string;
const outputs: string[] = [];

async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${scheduler.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json as T;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const runsOf = async (id: string) => (await api<ScheduleDetail>('GET', `/v1/schedules/${id}`)).runs.slice().reverse();
async function waitForRuns(id: string, ok: (runs: ScheduleRun[]) => boolean, what: string): Promise<ScheduleRun[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const runs = await runsOf(id);
    if (ok(runs)) return runs;
    if (Date.now() > deadline) throw new Error(`${what}: not within 30 s; runs: ${JSON.stringify(runs)}\n${outputs.join('\n')}${scheduler.output()}`);
    await sleep(200);
  }
}

beforeAll(async () => {
  database = await createDatabase();
  scheduler = await startScheduler(ENV, { databaseUrl: database.url });
  token = scheduler.token;
  await api('POST', APP, { name: 'nightly', image: 'nightly:1' });
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await scheduler?.stop();
  await database?.drop();
}, HOOK_TIMEOUT_MS);

describe('the scheduler stopped across slots, then started again', () => {
  it('accounts for every slot once: fired while up, recorded as missed by each policy while down', async () => {
    const skip = (await api('POST', `${APP}/nightly/schedules`, { cron: '*/1 * * * * *', missed: 'skip', command: 'true' })).id as string;
    const latest = (await api('POST', `${APP}/nightly/schedules`, { cron: '*/1 * * * * *', missed: 'latest', command: 'true' })).id as string;
    for (const id of [skip, latest]) await waitForRuns(id, (runs) => runs.length >= 2, 'slots fired before the stop');

    outputs.push(`--- before the stop ---\n${scheduler.output()}`);
    await scheduler.stop();
    const stoppedAt = Date.now();
    await sleep(DOWNTIME_MS);
    scheduler = await startScheduler(ENV, { databaseUrl: database.url, token });
    const restartedAt = Date.now();

    for (const [id, policy] of [[skip, 'skip'], [latest, 'latest']] as const) {
      // Slots after the restart fire again.
      const runs = await waitForRuns(id, (all) => all.some((r) => r.outcome === 'running' && Date.parse(r.createdAt) >= restartedAt - 1000), 'a slot fired after the restart');
      // One row per slot, consecutive seconds: none missing, none doubled.
      const times = runs.map((r) => Date.parse(r.scheduledFor));
      times.forEach((t, i) => expect(t, `${policy}: slot ${i}`).toBe(times[0]! + i * 1000));
      const missed = runs.filter((r) => r.outcome === 'skipped');
      expect(missed.length, `${policy}: slots missed while stopped`).toBeGreaterThanOrEqual(2);
      expect(missed.some((r) => Date.parse(r.scheduledFor) > stoppedAt && Date.parse(r.scheduledFor) < restartedAt)).toBe(true);
      for (const run of missed) {
        expect(run.reason).toMatch(/^missed: not fired within 1 s of its time/);
        expect(run.reason).toContain(`missed=${policy}`);
        expect(run.attempts).toEqual([]);
      }
      // A task for each slot that ran, and none for the others.
      // (Slots keep firing meanwhile: the tasks of slots up to the last run read.)
      const tasks = (await api<TaskList>('GET', '/v1/tasks?app=nightly&limit=500')).items.filter(
        (t) => t.scheduleId === id && Date.parse(t.scheduledFor!) <= times.at(-1)!,
      );
      const ran = runs.filter((r) => r.outcome !== 'skipped');
      expect(tasks.map((t) => t.scheduledFor).sort()).toEqual(ran.map((r) => r.scheduledFor).sort());
      const schedule = await api('GET', `/v1/schedules/${id}`);
      expect(schedule.failing).toBe(true);
    }
  }, 120_000);
});
