import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containersOfTask } from '../support/docker.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, LOG_LINE, startSystem, type System } from '../support/system.js';

// Running tasks end to end: the built scheduler on a fresh Postgres database, a built agent on
// the real Docker engine, and the built CLI, as a user runs them.
let system: System;

beforeAll(async () => {
  system = await startSystem();
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

/** Adds what scheduler and agent printed to a failing assertion's message. */
const why = () => system.output();

describe('running a task', () => {
  it('hello world: create task --wait prints "YYYY-MM-DD HH:MM:SS [app] hello" and exits 0', async () => {
    const before = Date.now();
    const run = await system.tapit('create', 'task', 'echo hello', '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(run.stdout).toMatch(/^ID:\s+[0-9a-f]{32}$/m);
    const hello = run.stdout.split('\n').filter((line) => line.endsWith(' [app] hello'));
    expect(hello).toHaveLength(1);
    const match = LOG_LINE.exec(hello[0]!);
    expect(match, hello[0]).not.toBeNull();
    // The timestamp is the line's real time, in UTC.
    const at = Date.parse(`${match![1]!.replace(' ', 'T')}Z`);
    expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    // Every log line the CLI printed has that format; the app said exactly one thing.
    const logLike = run.stdout.split('\n').filter((line) => /\[(app|system)\]/.test(line));
    expect(logLike.length).toBeGreaterThan(1);
    for (const line of logLike) expect(line).toMatch(LOG_LINE);
    expect(appLines(run.stdout)).toEqual(['hello']);
    expect(run.stdout).toMatch(/\[system\] Task status is RUNNING, desired status is RUNNING$/m);

    const task = await system.task(idFrom(run.stdout));
    expect(task).toMatchObject({ status: 'STOPPED', stopCode: 'EXITED', exitCode: 0, agent: system.agent.name });
  });

  it.each([0, 3, 42])('create task --wait exits with the task exit code %i', async (code) => {
    const run = await system.tapit('create', 'task', `echo before-exit; exit ${code}`, '--wait');
    expect(run.code, `${run.stdout}\n${run.stderr}\n${why()}`).toBe(code);
    expect(appLines(run.stdout)).toEqual(['before-exit']);
    expect(await system.task(idFrom(run.stdout))).toMatchObject({ stopCode: 'EXITED', exitCode: code });
  });

  it.each([0, 3, 42])('attached task:run exits with the task exit code %i', async (code) => {
    const run = await system.tapit('task:run', '--', '/bin/sh', '-c', `echo attached; exit ${code}`);
    expect(run.code, `${run.stdout}\n${run.stderr}\n${why()}`).toBe(code);
    expect(appLines(run.stdout)).toEqual(['attached']);
    expect(await system.task(idFrom(run.stdout))).toMatchObject({ stopCode: 'EXITED', exitCode: code });
  });

  it('keeps the logs after the container is removed: show logs prints every line', async () => {
    // Docker stamps stdout and stderr in separate goroutines, so lines written within microseconds
    // of each other on the two streams can swap places; the pause keeps the expected order exact.
    const run = await system.tapit('create', 'task', 'for i in $(seq 1 25); do echo line $i; done; sleep 0.5; echo err-line >&2', '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    const id = idFrom(run.stdout);
    const expected = [...Array.from({ length: 25 }, (_, i) => `line ${i + 1}`), 'err-line'];
    expect(appLines(run.stdout)).toEqual(expected);

    // The agent removes the container once the scheduler has the whole log and the exit.
    const deadline = Date.now() + 20_000;
    let containers = await containersOfTask(id);
    while (containers.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      containers = await containersOfTask(id);
    }
    expect(containers, 'docker ps -a still lists the task container').toEqual([]);

    const logs = await system.tapit('show', 'logs', `task=${id}`);
    expect(logs.code, logs.stderr).toBe(0);
    expect(appLines(logs.stdout)).toEqual(expected);
    for (const line of logs.stdout.split('\n').filter(Boolean)) expect(line).toMatch(LOG_LINE);
    expect(logs.stdout).toMatch(/\[system\] Task status is STOPPED, desired status is STOPPED$/m);
  });

  it('keeps every line of both streams, each stream in order, when Docker writes them out of timestamp order', async () => {
    // Docker's two copiers stamp then write through one lock: here a few dozen lines in a run
    // land in its log file after a line of the other stream stamped later than them.
    const count = 2000;
    const script = `i=0; while [ $i -lt ${count} ]; do echo out-$i; echo err-$i >&2; i=$((i+1)); done; echo last-err >&2; exit 4`;
    const run = await system.tapit('create', 'task', script, '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(4);
    const logs = await system.tapit('show', 'logs', `task=${idFrom(run.stdout)}`);
    for (const shown of [run.stdout, logs.stdout]) {
      const lines = appLines(shown);
      expect(lines.filter((l) => l.startsWith('out-'))).toEqual(Array.from({ length: count }, (_, i) => `out-${i}`));
      expect(lines.filter((l) => !l.startsWith('out-'))).toEqual([...Array.from({ length: count }, (_, i) => `err-${i}`), 'last-err']);
    }
  });
});
