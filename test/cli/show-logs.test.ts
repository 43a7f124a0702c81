import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, LOG_LINE, startSystem, type System } from '../support/system.js';

// `tapit show logs` and each of its options, on a finished task's log through the built CLI,
// scheduler and agent: which lines each option keeps, and how it prints them.
let system: System;
let id: string;
/** The whole log as `show logs` prints it, line by line. */
let all: string[];

const ESC = '\u001b';
// Pauses keep the order across stdout and stderr, and put `out 3` a second after the rest.
const SCRIPT = `printf 'out 1\\n\\tout 2 \\033[1mbold\\033[0m\\n'; sleep 0.3; echo 'err 1' >&2; sleep 1.1; echo 'out 3'; sleep 0.3; echo 'err 2' >&2`;
const STDOUT = `out 1\n\tout 2 ${ESC}[1mbold${ESC}[0m\nout 3\n`;

const printed = (stdout: string) => stdout.split('\n').filter((line) => line !== '');
const why = () => system.output();

beforeAll(async () => {
  system = await startSystem();
  const run = await system.tapit('create', 'task', SCRIPT, '--wait');
  if (run.code !== 0) throw new Error(`${run.stderr}\n${why()}`);
  id = idFrom(run.stdout);
  const shown = await system.tapit('show', 'logs', `task=${id}`);
  all = printed(shown.stdout);
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

describe('tapit show logs', () => {
  it('prints every line with its time and stream, [system] lines in their place', () => {
    expect(all.every((line) => LOG_LINE.test(line)), all.join('\n')).toBe(true);
    expect(appLines(all.join('\n'))).toEqual(['out 1', `\tout 2 ${ESC}[1mbold${ESC}[0m`, 'err 1', 'out 3', 'err 2']);
    expect(all.at(-1)).toMatch(/\[system\] Task stopped: EXITED \(exit code 0\)$/);
  });

  it('--tail N prints the last N lines', async () => {
    const tail = await system.tapit('show', 'logs', `task=${id}`, '--tail', '3');
    expect(tail.code, tail.stderr).toBe(0);
    expect(printed(tail.stdout)).toEqual(all.slice(-3));
  });

  it('--stream keeps one stream: stderr, stdout or system', async () => {
    const stderr = await system.tapit('show', 'logs', `task=${id}`, '--stream', 'stderr');
    expect(stderr.code, stderr.stderr).toBe(0);
    expect(printed(stderr.stdout).map((line) => LOG_LINE.exec(line)?.[3])).toEqual(['err 1', 'err 2']);
    const stdout = await system.tapit('show', 'logs', `task=${id}`, '--stream', 'stdout', '--tail', '1');
    expect(printed(stdout.stdout).map((line) => LOG_LINE.exec(line)?.[3])).toEqual(['out 3']);
    const own = await system.tapit('show', 'logs', `task=${id}`, '--stream', 'system');
    expect(printed(own.stdout)).toEqual(all.filter((line) => line.includes(' [system] ')));
    expect(printed(own.stdout).length).toBeGreaterThan(1);
  });

  it('--since keeps the lines stamped from a timestamp on, or from a duration ago', async () => {
    const json = await system.tapit('show', 'logs', `task=${id}`, '--json');
    const lines = (JSON.parse(json.stdout) as { lines: { text: string; at: string }[] }).lines;
    const out3 = lines.find((line) => line.text === 'out 3')!;
    const since = await system.tapit('show', 'logs', `task=${id}`, '--since', out3.at);
    expect(since.code, since.stderr).toBe(0);
    expect(appLines(since.stdout)).toEqual(['out 3', 'err 2']);
    expect(printed(since.stdout).at(-1)).toBe(all.at(-1));
    const hour = await system.tapit('show', 'logs', `task=${id}`, '--since', '1h');
    expect(printed(hour.stdout)).toEqual(all);
    const filtered = await system.tapit('show', 'logs', `task=${id}`, '--since', out3.at, '--stream', 'stderr', '--json');
    expect((JSON.parse(filtered.stdout) as { lines: { text: string }[] }).lines.map((line) => line.text)).toEqual(['err 2']);
  });

  it('--no-timestamps prints the stream and text only', async () => {
    const plain = await system.tapit('show', 'logs', `task=${id}`, '--no-timestamps');
    expect(plain.code, plain.stderr).toBe(0);
    expect(printed(plain.stdout)).toEqual(all.map((line) => line.replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '')));
  });

  it('--raw prints the output byte for byte: no times, prefixes or [system] lines', async () => {
    const raw = await system.tapit('show', 'logs', `task=${id}`, '--raw');
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stdout).toBe(`out 1\n\tout 2 ${ESC}[1mbold${ESC}[0m\nerr 1\nout 3\nerr 2\n`);
    const stdout = await system.tapit('show', 'logs', `task=${id}`, '--raw', '--stream', 'stdout');
    expect(stdout.stdout).toBe(STDOUT);
  });

  it('--follow --tail N prints the last N lines, then follows with the same filter to the task end and its exit code', async () => {
    const finished = await system.tapit('show', 'logs', `task=${id}`, '--follow', '--tail', '2', '--stream', 'stderr');
    expect(finished.code, finished.stderr).toBe(0);
    expect(appLines(finished.stdout)).toEqual(['err 1', 'err 2']);
    const started = await system.tapit('create', 'task', 'echo first; sleep 2; echo second >&2; exit 3');
    expect(started.code, started.stderr).toBe(0);
    const running = idFrom(started.stdout);
    const followed = await system.tapit('show', 'logs', `task=${running}`, '--follow', '--stream', 'stderr', '--tail', '5');
    expect(followed.code, `${followed.stderr}\n${why()}`).toBe(3);
    expect(printed(followed.stdout).map((line) => LOG_LINE.exec(line)?.[3])).toEqual(['second']);
  });

  it.each([
    [['--tail', '0'], /--tail/],
    [['--since', 'yesterday'], /--since/],
    [['--stream', 'app'], /--stream/],
  ])('refuses %j: exit 2 and one line naming the option', async (args, named) => {
    const refused = await system.tapit('show', 'logs', `task=${id}`, ...args);
    expect(refused.code).toBe(2);
    expect(refused.stdout).toBe('');
    expect(printed(refused.stderr)).toHaveLength(1);
    expect(refused.stderr).toMatch(named);
  });
});
