import { CreatedSchedule, Schedule, ScheduleDetail, ScheduleList, Task, TaskList, TriggeredRun } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startSystem, type System } from '../support/system.js';

// The schedule commands of the built CLI against the built scheduler on a fresh Postgres
// database, with one agent on the local Docker engine for the runs that must end.
let system: System;

beforeAll(async () => {
  system = await startSystem();
  const other = await system.tapit('create', 'app', 'other', 'image=tapit-test/busybox:latest');
  if (other.code !== 0) throw new Error(other.stderr);
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const tapit = (...args: string[]) => system.tapit(...args);
/** `tapit ARGS --json`, which must succeed, parsed. */
async function json(args: string[]): Promise<unknown> {
  const result = await tapit(...args, '--json');
  if (result.code !== 0) throw new Error(`tapit ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as unknown;
}
const detail = async (id: string) => ScheduleDetail.parse(await json(['show', 'schedule', `schedule=${id}`]));
/** A GET of the API itself: for polling and for checks beside the command under test (a CLI process each time would be slow). */
async function api<T>(path: string, schema: { parse(value: unknown): T }): Promise<T> {
  const response = await fetch(`${system.scheduler.url}${path}`, { headers: { authorization: `Bearer ${system.scheduler.token}` } });
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return schema.parse(await response.json());
}
const stored = (id: string) => api(`/v1/schedules/${id}`, ScheduleDetail);
const allSchedules = async () => (await api('/v1/schedules?limit=500', ScheduleList)).items;
/** Polls the API until the schedule's newest slot has this outcome. */
const newestRun = (id: string, outcome: string) =>
  eventually(async () => {
    const d = await stored(id);
    if (d.runs[0]?.outcome !== outcome) throw new Error(`newest run not ${outcome}: ${JSON.stringify(d.runs[0])}`);
    return d;
  });
/** A daily schedule that will not fire during the test, created through the CLI; its id. */
async function daily(...args: string[]): Promise<string> {
  return CreatedSchedule.parse(await json(['create', 'schedule', 'echo from-schedule', 'cron=0 4 * * *', ...args])).id;
}
/** Polls `check` (which throws until it holds) for up to `timeoutMs`. */
async function eventually<T>(check: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

describe('tapit create schedule', () => {
  it('sends every option and prints the schedule with its next runs', async () => {
    const created = await tapit(
      'create',
      'schedule',
      'bin/cleanup --all',
      'cron=30 2 * * *',
      'timezone=Europe/Berlin',
      'concurrency=forbid',
      'missed=latest',
      'starting_deadline=600',
      'retries=2',
      'memory=0.5',
      'cpu=0.25',
      'docker_tag=latest',
      'release=1',
      'max_hours=2',
      'initiated_by=ops',
      'ephemeral_storage_gb=3',
      'constraint=region=eu',
    );
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const id = /^ID:\s+([0-9a-f]{32})$/m.exec(created.stdout)?.[1] ?? '';
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(created.stdout).toMatch(/^Cron:\s+30 2 \* \* \*$/m);
    expect(created.stdout).toMatch(/^Time zone:\s+Europe\/Berlin$/m);
    expect(created.stdout).toMatch(/^Next runs:\n {2}LOCAL \(Europe\/Berlin\)\s+UTC\n( {2}\d{4}-\d\d-\d\d 02:30:00 \+0[12]:00\s+\d{4}-\d\d-\d\d 0[01]:30:00\n){5}/m);
    expect(created.stdout).not.toMatch(/secret/i);

    const saved = await detail(id);
    expect(saved).toMatchObject({
      app: 'web',
      cron: '30 2 * * *',
      timezone: 'Europe/Berlin',
      concurrency: 'forbid',
      missed: 'latest',
      startingDeadlineSeconds: 600,
      retries: 2,
      webhookUrl: null,
      suspended: false,
      failing: false,
      task: {
        command: ['/bin/sh', '-c', 'bin/cleanup --all'],
        entrypoint: null,
        release: 1,
        image: null,
        dockerTag: 'latest',
        cpu: 0.25,
        memoryGb: 0.5,
        maxHours: 2,
        ephemeralStorageGb: 3,
        initiatedBy: 'ops',
        constraints: { region: 'eu' },
      },
    });
    // image= instead of a release, defaults for everything else; --json gives the created schedule.
    const plain = CreatedSchedule.parse(await json(['create', 'schedule', 'true', 'cron=@hourly', 'image=tapit-test/busybox:latest']));
    expect(plain).toMatchObject({ timezone: 'UTC', concurrency: 'allow', missed: 'skip', startingDeadlineSeconds: null, retries: 0, webhookUrl: null, webhookSecret: null });
    expect(plain.task).toMatchObject({ image: 'tapit-test/busybox:latest', release: null, cpu: null, memoryGb: null });
  });

  it('prints the webhook signing secret once, with a line saying it will not be shown again', async () => {
    const created = await tapit('create', 'schedule', 'true', 'cron=@daily', 'webhook=http://127.0.0.1:9/tapit-hook');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const secret = /will not be shown again[^\n]*\n(\S+)\n/.exec(created.stdout)?.[1] ?? '';
    expect(secret).toMatch(/^\S{16,}$/);
    const id = /^ID:\s+([0-9a-f]{32})$/m.exec(created.stdout)?.[1] ?? '';
    const saved = await detail(id);
    expect(saved.webhookUrl).toBe('http://127.0.0.1:9/tapit-hook');
    expect((await tapit('show', 'schedule', id)).stdout).toMatch(/^Webhook:\s+http:\/\/127.0.0.1:9\/tapit-hook$/m);
    // No later answer carries it.
    expect(JSON.stringify(saved)).not.toContain(secret);
    expect(JSON.stringify(await allSchedules())).not.toContain(secret);
  });

  it('refuses every bad key and value with exit 2 and one line naming it, creating nothing', async () => {
    const before = (await allSchedules()).length;
    const cases: [string[], RegExp][] = [
      [['echo', 'cron=@daily', 'concurrency=sometimes'], /^Error: Invalid value "sometimes" for concurrency: allowed values are allow, forbid, replace\n$/],
      [['echo', 'cron=@daily', 'missed=all'], /^Error: Invalid value "all" for missed: allowed values are skip, latest\n$/],
      [['echo', 'cron=@daily', 'retries=-1'], /^Error: Invalid value "-1" for retries: must be a whole number from 0 to 10\n$/],
      [['echo', 'cron=@daily', 'retries=11'], /^Error: Invalid value "11" for retries: must be a whole number from 0 to 10\n$/],
      [['echo', 'cron=@daily', 'starting_deadline=abc'], /^Error: Invalid value "abc" for starting_deadline: must be a whole number of seconds from 1 to \d+, or none\n$/],
      [['echo', 'cron=@daily', 'webhook=ftp://127.0.0.1/x'], /^Error: Invalid value "ftp:\/\/127.0.0.1\/x" for webhook: must be an http:\/\/ or https:\/\/ URL\n$/],
      [['echo', 'cron=@daily', 'memory=lots'], /^Error: Invalid value "lots" for memory: must be a number of GB from 0.004 to 1024\n$/],
      [['echo', 'cron=@daily', 'every=5m'], /^Error: Unknown key "every": allowed keys are cron, timezone, concurrency, missed, starting_deadline, retries, webhook, memory, cpu, docker_tag, image, release, max_hours, initiated_by, ephemeral_storage_gb, constraint\n$/],
      [['echo'], /^Error: Missing key "cron": required key is cron; /],
      [['cron=@daily'], /^Error: Missing command: give it as the first argument\n$/],
    ];
    // One at a time: ten CLI processes at once on a busy 2-core machine can each take longer than a command is given.
    for (const [args, message] of cases) {
      const result = await tapit('create', 'schedule', ...args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(result.stderr).toMatch(message);
    }
    expect((await allSchedules()).length).toBe(before);
  });

  it('passes on the scheduler\'s one line for a bad cron expression or an unknown zone (exit 2)', async () => {
    const before = (await allSchedules()).length;
    const cases = [
      [['cron=61 * * * *'], /^Error: cron: "61 \* \* \* \*" is not a valid cron expression[^\n]+\n$/],
      [['cron=every day'], /^Error: cron: "every day" is not a valid cron expression[^\n]+\n$/],
      [['cron=@daily', 'timezone=Mars/Olympus_Mons'], /^Error: timezone: [^\n]*"Mars\/Olympus_Mons"[^\n]*\n$/],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => tapit('create', 'schedule', 'echo', ...args)));
    cases.forEach(([args, line], i) => {
      expect({ args, code: results[i]!.code }).toEqual({ args, code: 2 });
      expect(results[i]!.stderr).toMatch(line);
    });
    expect((await allSchedules()).length).toBe(before);
  });
});

describe('tapit list schedules, show schedule', () => {
  it('lists an app\'s schedules (or every app\'s) as a table and as JSON', async () => {
    const web = await daily('timezone=America/New_York');
    const other = await daily('-a', 'other');
    const [table, listed, ofOther, newestTwo, unknown] = await Promise.all([
      tapit('list', 'schedules'),
      json(['list', 'schedules']).then((j) => ScheduleList.parse(j)),
      json(['list', 'schedules', '-a', 'other']).then((j) => ScheduleList.parse(j)),
      json(['list', 'schedules', '--all-apps', '--limit', '2']).then((j) => ScheduleList.parse(j)),
      tapit('list', 'schedules', '-a', 'nope'),
    ]);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^ID\s+APP\s+EXPRESSION\s+ZONE\s+NEXT RUN \(UTC\)\s+LAST RUN \(UTC\)\s+OUTCOME\s+SUSPENDED\s+FAILING$/);
    expect(lines.find((line) => line.startsWith(web.slice(0, 12)))).toMatch(/^[0-9a-f]{12}\s+web\s+0 4 \* \* \*\s+America\/New_York\s+\d{4}-\d\d-\d\d 0[89]:00:00\s+-\s+-\s+no\s+no$/);
    expect(table.stdout).not.toContain(other.slice(0, 12));

    expect(listed.items.map((s) => s.id)).toContain(web);
    expect(listed.items.every((s) => s.app === 'web')).toBe(true);
    expect(ofOther.items.map((s) => s.id)).toEqual([other]);
    // Every app of the stage, newest first, cut at --limit (with the cursor of the rest).
    expect(newestTwo.items.map((s) => s.id)).toEqual([other, web]);
    expect(newestTwo.nextCursor).not.toBeNull();

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^Error: .*"nope".*not found; apps in default\/default: .*web.*\n$/);
  });

  it('shows the settings and the next 5 runs in the zone of the schedule and in UTC, by id, prefix or bare id', async () => {
    const id = await daily('timezone=Europe/Berlin');
    const [full, ...others] = await Promise.all([`schedule=${id}`, `schedule=${id.slice(0, 8)}`, id.slice(0, 10).toUpperCase()].map((arg) => tapit('show', 'schedule', arg)));
    for (const result of [full!, ...others]) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(full!.stdout);
    }
    const shown = full!.stdout;
    expect(shown).toMatch(new RegExp(`^ID:\\s+${id}$`, 'm'));
    for (const line of [/^App:\s+default\/default\/web$/m, /^Command:\s+echo from-schedule$/m, /^Cron:\s+0 4 \* \* \*$/m, /^Concurrency:\s+allow$/m, /^Missed runs:\s+skip$/m, /^Retries:\s+0$/m, /^Suspended:\s+no$/m, /^Failing:\s+no$/m, /^Recent runs: none yet$/m]) {
      expect(shown).toMatch(line);
    }
    const rows = [...shown.matchAll(/^ {2}(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) ([+-]\d\d:\d\d)\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)$/gm)];
    expect(rows).toHaveLength(5);
    for (const [, local, offset, utc] of rows) {
      // Each local time is 04:00 in Berlin, and names the same instant as its UTC column.
      expect(local!.slice(11)).toBe('04:00:00');
      expect(Date.parse(`${local!.replace(' ', 'T')}${offset}`)).toBe(Date.parse(`${utc!.replace(' ', 'T')}Z`));
    }
    const json5 = await detail(id);
    expect(json5.upcoming).toHaveLength(5);
    expect(json5.runs).toEqual([]);

    const refusals = [
      [['show', 'schedule'], /^Error: Missing key "schedule": give schedule=ID/],
      [['show', 'schedule', 'schedule=xyz'], /^Error: Invalid schedule "xyz": must be 4 to 32 lowercase hex characters of a schedule id\n$/],
      [['show', 'schedule', 'schedule=0000000000000000'], /^Error: [^\n]*not found[^\n]*\n$/],
    ] as const;
    const refused = await Promise.all(refusals.map(([args]) => tapit(...args)));
    refusals.forEach(([args, message], i) => {
      expect({ args, code: refused[i]!.code }).toEqual({ args, code: 2 });
      expect(refused[i]!.stderr).toMatch(message);
    });
  });
});

describe('tapit suspend, resume, trigger, delete schedule', () => {
  it('suspends and resumes a schedule', async () => {
    const id = await daily();
    const suspended = await tapit('suspend', 'schedule', `schedule=${id}`);
    expect(suspended.code).toBe(0);
    expect(suspended.stdout).toContain(`Suspended schedule ${id}: no slot fires until tapit resume schedule schedule=${id}`);
    expect(await stored(id)).toMatchObject({ suspended: true, nextRunAt: null });
    const [list, show] = await Promise.all([tapit('list', 'schedules'), tapit('show', 'schedule', id)]);
    expect(list.stdout.split('\n').find((line) => line.startsWith(id.slice(0, 12)))).toMatch(/\s+yes\s+no$/);
    expect(show.stdout).toMatch(/^Suspended:\s+yes: no slot fires until/m);
    expect(show.stdout).toMatch(/^Next runs: none while suspended$/m);

    const resumed = Schedule.parse(await json(['resume', 'schedule', `schedule=${id}`]));
    expect(resumed).toMatchObject({ id, suspended: false });
    expect(resumed.nextRunAt).not.toBeNull();
    expect((await tapit('suspend', 'schedule', id)).code).toBe(0);
    const again = await tapit('resume', 'schedule', id);
    expect(again.stdout).toMatch(new RegExp(`^Resumed schedule ${id}: next run \\d{4}-\\d\\d-\\d\\d 04:00:00 UTC$`, 'm'));
  });

  it('triggers a run now: its task names the schedule, and the history shows the slot, its task and outcome', async () => {
    const id = await daily();
    const triggered = await tapit('trigger', 'schedule', `schedule=${id}`);
    expect(triggered.stderr).toBe('');
    expect(triggered.code).toBe(0);
    const taskId = /^ID:\s+([0-9a-f]{32})$/m.exec(triggered.stdout)?.[1] ?? '';
    expect(taskId).toMatch(/^[0-9a-f]{32}$/);
    expect(triggered.stdout).toMatch(new RegExp(`^Triggered schedule ${id}: slot \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC$`, 'm'));

    const history = await newestRun(id, 'succeeded');
    const [taskJson, taskText, shown] = await Promise.all([json(['show', 'task', `task=${taskId}`]), tapit('show', 'task', `task=${taskId}`), tapit('show', 'schedule', id).then((r) => r.stdout)]);
    const task = Task.parse(taskJson);
    expect(task).toMatchObject({ scheduleId: id, status: 'STOPPED', stopCode: 'EXITED', exitCode: 0 });
    expect(history.runs[0]).toMatchObject({ trigger: 'manual', scheduledFor: task.scheduledFor, attempts: [{ attempt: 1, taskId, stopCode: 'EXITED', exitCode: 0 }] });
    const slot = task.scheduledFor!.slice(0, 19).replace('T', ' ');
    expect(taskText.stdout).toMatch(new RegExp(`^Schedule:\\s+${id} \\(slot ${slot} UTC\\)$`, 'm'));
    expect(shown).toMatch(new RegExp(`^ {2}${slot}\\s+manual\\s+succeeded\\s+1\\s+${taskId.slice(0, 12)}\\s+STOPPED \\(EXITED 0\\)$`, 'm'));
    expect(shown).toMatch(new RegExp(`^Last run:\\s+${slot} UTC, succeeded$`, 'm'));

    // --json: the slot and its task.
    expect(TriggeredRun.parse(await json(['trigger', 'schedule', id]))).toMatchObject({ scheduleId: id });
  });

  it('trigger --wait streams the run and exits with its exit code; the failed run shows in the history', async () => {
    const id = CreatedSchedule.parse(await json(['create', 'schedule', 'echo from-the-run; exit 4', 'cron=0 4 * * *'])).id;
    const run = await system.tapitWithin(60_000, 'trigger', 'schedule', `schedule=${id}`, '--wait');
    expect(run.code).toBe(4);
    expect(run.stdout).toMatch(/^ID:\s+[0-9a-f]{32}$/m);
    expect(run.stdout).toMatch(/\[app\] from-the-run$/m);
    const taskId = /^ID:\s+([0-9a-f]{32})$/m.exec(run.stdout)?.[1] ?? '';
    const history = await newestRun(id, 'failed');
    expect(history.runs[0]!.attempts).toEqual([expect.objectContaining({ attempt: 1, taskId, stopCode: 'EXITED', exitCode: 4 })]);
    const shown = (await tapit('show', 'schedule', id)).stdout;
    expect(shown).toMatch(new RegExp(`^ {2}\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+manual\\s+failed\\s+1\\s+${taskId.slice(0, 12)}\\s+STOPPED \\(EXITED 4\\)`, 'm'));
  });

  it('deletes a schedule: gone from show and list, its tasks stay', async () => {
    const id = await daily();
    const taskId = TriggeredRun.parse(await json(['trigger', 'schedule', id])).taskId;
    const deleted = await tapit('delete', 'schedule', `schedule=${id}`);
    expect(deleted.stderr).toBe('');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`Deleted schedule ${id}\n`);
    expect((await allSchedules()).map((s) => s.id)).not.toContain(id);
    expect((await api(`/v1/tasks/${taskId}`, Task)).scheduleId).toBe(id);
    const verbs = ['show', 'delete', 'suspend', 'resume', 'trigger'];
    const afterwards = await Promise.all(verbs.map((verb) => tapit(verb, 'schedule', `schedule=${id}`)));
    verbs.forEach((verb, i) => expect({ verb, code: afterwards[i]!.code, stderr: afterwards[i]!.stderr }).toEqual({ verb, code: 2, stderr: expect.stringMatching(/^Error: [^\n]*not found[^\n]*\n$/) }));
  });
});

describe('a schedule firing on its cron slots', () => {
  it('creates tasks that name their schedule and slot, and records skipped slots with the reason', async () => {
    // Every second, and each run outlasts its slot: concurrency=forbid skips the next ones.
    const id = CreatedSchedule.parse(await json(['create', 'schedule', 'sleep 30', 'cron=* * * * * *', 'concurrency=forbid'])).id;
    try {
      const history = await eventually(async () => {
        const d = await stored(id);
        if (!d.runs.some((r) => r.outcome === 'skipped') || !d.runs.some((r) => r.attempts.length > 0)) throw new Error(`no skipped slot yet: ${JSON.stringify(d.runs)}`);
        return d;
      });
      const fired = history.runs.find((r) => r.attempts.length > 0)!;
      expect(fired.trigger).toBe('cron');
      const taskId = fired.attempts[0]!.taskId;
      const slot = fired.scheduledFor.slice(0, 19).replace('T', ' ');
      const [taskText, shown] = await Promise.all([tapit('show', 'task', `task=${taskId}`).then((r) => r.stdout), tapit('show', 'schedule', id).then((r) => r.stdout)]);
      expect(taskText).toMatch(new RegExp(`^Schedule:\\s+${id} \\(slot ${slot} UTC\\)$`, 'm'));
      const skipped = history.runs.find((r) => r.outcome === 'skipped')!;
      expect(skipped.reason).toContain(taskId.slice(0, 8));
      expect(shown).toMatch(new RegExp(`^ {2}${skipped.scheduledFor.slice(0, 19).replace('T', ' ')}\\s+cron\\s+skipped\\s+-\\s+-\\s+-\\s+\\S.*$`, 'm'));
    } finally {
      await tapit('delete', 'schedule', id);
      const active = await api('/v1/tasks?status=PROVISIONING,PENDING,RUNNING&limit=500', TaskList);
      await Promise.all(active.items.filter((t) => t.scheduleId === id).map((t) => tapit('task:stop', t.id)));
    }
  });
});
