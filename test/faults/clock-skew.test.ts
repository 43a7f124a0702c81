import { execFileSync } from 'node:child_process';
import type { LogLine, Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skewedClockEnv } from '../support/faketime.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { idFrom, startSystem, type System } from '../support/system.js';

// An agent whose clock is 10 minutes ahead or behind the scheduler's (RELIABILITY.md, scenario
// 20), made with Debian's faketime (scripts/test-services.sh installs it): libfaketime preloaded
// into the agent's Node process (support/faketime.ts), which then reads the skewed time from
// Date.now() and its timers alike. The Docker engine and the scheduler keep the real clock.
// A task with a short max_hours must run its whole time and be stopped by its deadline; every
// time stored (start, finish, log lines, status changes) must be on the scheduler's clock, in order.

const MAX_HOURS = 0.001; // 3.6 s
const DEADLINE_MS = MAX_HOURS * 3_600_000;
/** Clock readings of two machines can differ by this much and still count as in order. */
const TOLERANCE_MS = 1000;

/** Counts until it is stopped; SIGTERM ends it at once (a shell as PID 1 would ignore it). */
const COUNT_UNTIL_STOPPED = "trap 'echo got TERM; exit 143' TERM; i=0; while true; do i=$((i+1)); echo line $i; sleep 0.1; done";

const millis = (iso: string | null) => Date.parse(iso ?? '');

for (const skew of ['+600s', '-600s']) {
  describe(`the agent's clock ${skew.startsWith('+') ? 'ahead' : 'behind'} by 600 s (faketime ${skew})`, () => {
    let system: System;
    beforeAll(async () => {
      system = await startSystem({ agentEnv: skewedClockEnv(skew) });
    }, HOOK_TIMEOUT_MS);
    afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

    it('the agent really runs on the skewed clock', () => {
      const expected = skew.startsWith('+') ? 600_000 : -600_000;
      const faked = Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(Date.now()))'], { env: { ...process.env, ...skewedClockEnv(skew) } }).toString());
      expect(Math.abs(faked - Date.now() - expected)).toBeLessThan(5_000);
      // The agent's own: the time of its last line (`<time> tapit-agent <event> …`), written by now.
      const lines = system.agent.output().trim().split('\n');
      const agentNow = Date.parse(lines.at(-1)!.split(' ')[0]!);
      expect(Math.abs(agentNow - Date.now() - expected), lines.at(-1)).toBeLessThan(60_000);
    });

    it(`a task with max_hours=${MAX_HOURS} runs its whole time, is stopped by its deadline, and every time is the scheduler's, in order`, async () => {
      const created = await system.tapit('create', 'task', COUNT_UNTIL_STOPPED, `max_hours=${MAX_HOURS}`);
      expect(created.code, created.stderr).toBe(0);
      const id = idFrom(created.stdout);
      const task: Task = await system.waitForTask(id, (t) => t.status === 'STOPPED', 45_000);
      const checkedAt = Date.now();
      const why = `${JSON.stringify(task, null, 1)}\n${system.output()}`;
      expect(task, why).toMatchObject({ status: 'STOPPED', stopCode: 'TIMED_OUT' });

      // Not stopped early: from its start to its end at least max_hours passed on the scheduler's clock.
      const created_ = millis(task.createdAt);
      const started = millis(task.startedAt);
      const finished = millis(task.finishedAt);
      expect(started - created_, `started_at before created_at\n${why}`).toBeGreaterThanOrEqual(-TOLERANCE_MS);
      expect(finished - started, `stopped before its deadline\n${why}`).toBeGreaterThanOrEqual(DEADLINE_MS - 250);
      expect(finished, `finished_at in the future\n${why}`).toBeLessThanOrEqual(checkedAt + TOLERANCE_MS);

      const lines: LogLine[] = await system.logs(id);
      const text = lines.map((l) => `${l.at} [${l.stream}] ${l.text}`).join('\n');
      // Every line (the container's, the agent's [system] lines, the scheduler's status changes)
      // is on one clock: inside the task's life and in the order the log holds them.
      for (const line of lines) {
        expect(millis(line.at), `a line outside the task's life:\n${text}`).toBeGreaterThanOrEqual(created_ - TOLERANCE_MS);
        expect(millis(line.at), `a line from the future:\n${text}`).toBeLessThanOrEqual(checkedAt + TOLERANCE_MS);
      }
      for (let i = 1; i < lines.length; i++) {
        expect(millis(lines[i]!.at) - millis(lines[i - 1]!.at), `lines out of order at position ${lines[i]!.position}:\n${text}`).toBeGreaterThanOrEqual(-TOLERANCE_MS);
      }
      const output = lines.filter((l) => l.stream === 'stdout').map((l) => l.text);
      const count = output.filter((t) => t.startsWith('line ')).length;
      expect(output, text).toEqual([...Array.from({ length: count }, (_, i) => `line ${i + 1}`), 'got TERM']);
      const statuses = lines.filter((l) => l.stream === 'system' && l.text.startsWith('Task status is')).map((l) => l.text);
      expect(statuses.filter((s) => s.startsWith('Task status is STOPPED')), text).toHaveLength(1);
    });
  });
}
