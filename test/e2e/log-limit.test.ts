import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { idFrom, LOG_LINE, startSystem, type System } from '../support/system.js';

// TAPIT_LOG_MAX_BYTES_PER_TASK through the built scheduler and agent: output past the limit is
// dropped at the scheduler, said in [system] lines with the count, and the task runs to its end.
const LIMIT = 64 * 1024;
let system: System;

beforeAll(async () => {
  system = await startSystem({ schedulerEnv: { TAPIT_LOG_MAX_BYTES_PER_TASK: String(LIMIT) } });
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

describe('the per-task log limit', () => {
  it('stores output up to the limit, then drops the rest with a [system] line where it was cut and the count as the last line', async () => {
    const LINES = 50_000; // `seq` prints 288,894 bytes: well past 64 KiB
    const run = await system.tapitWithin(120_000, 'create', 'task', `seq 1 ${LINES}`, '--wait');
    expect(run.code, `${run.stderr}\n${system.output()}`).toBe(0);
    const id = idFrom(run.stdout);

    const shown = await system.tapit('show', 'logs', `task=${id}`);
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.split('\n').filter((line) => line !== '').map((line) => LOG_LINE.exec(line));
    expect(lines.every((match) => match !== null)).toBe(true);
    const app = lines.filter((match) => match![2] === 'app').map((match) => match![3]);
    // A contiguous start of the output, no line here and there after the cut.
    const kept = app.length;
    expect(app).toEqual(Array.from({ length: kept }, (_, i) => String(i + 1)));
    expect(kept).toBeGreaterThan(1000);
    expect(kept).toBeLessThan(LINES);

    const system_ = lines.filter((match) => match![2] === 'system').map((match) => match![3]);
    const reached = system_.filter((text) => text.startsWith('Log limit reached:'));
    expect(reached).toHaveLength(1);
    expect(reached[0]).toMatch(/^Log limit reached: the task's log holds at most 64 KiB \(TAPIT_LOG_MAX_BYTES_PER_TASK\); its further output is dropped, \d+ bytes \(\d+ lines\) so far, and counted when it stops$/);
    // It sits right after the last line kept.
    const texts = lines.map((match) => match![3]);
    expect(texts[texts.indexOf(String(kept)) + 1]).toBe(reached[0]);

    // The last line counts every dropped line and byte: the lines after `kept`, each with its line break.
    let droppedBytes = 0;
    for (let n = kept + 1; n <= LINES; n++) droppedBytes += String(n).length + 1;
    expect(texts.at(-1)).toBe(`Log limit: ${droppedBytes} bytes (${LINES - kept} lines) of the task's output were dropped, not stored (TAPIT_LOG_MAX_BYTES_PER_TASK)`);
    expect(texts.at(-2)).toBe('Task stopped: EXITED (exit code 0)');

    // The task says what its log holds and what was dropped; show task prints its last lines.
    const task = await system.task(id);
    expect(task.log).toEqual({ lines: lines.length, bytes: expect.any(Number), droppedLines: LINES - kept, droppedBytes, expiredAt: null });
    const details = await system.tapit('show', 'task', `task=${id}`);
    expect(details.stdout).toMatch(new RegExp(`^Log size:\\s+${lines.length} lines, [\\d.]+ KiB; ${LINES - kept} lines \\([\\d.]+ KiB\\) dropped past the log limit$`, 'm'));
    const tail = details.stdout.slice(details.stdout.indexOf('\nLog, last ') + 1).trimEnd().split('\n');
    expect(tail[0]).toBe(`Log, last 20 of ${lines.length} lines (all: tapit show logs task=${id}):`);
    expect(tail.slice(1).map((line) => LOG_LINE.exec(line.trim())?.[3])).toEqual(texts.slice(-20));
  });
});
