import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { appLines, idFrom, LOG_LINE, startSystem, type System } from '../support/system.js';

// The log pipeline end to end (agent → scheduler → Postgres → CLI) with the built binaries: lots
// of output, lines longer than a chunk, and logs stored one row per line before chunks.
let system: System;

beforeAll(async () => {
  system = await startSystem();
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

const why = () => system.output();

/** The index of the first line that is not `expected(i)`, or -1 when every one is there, once, in order. */
function firstWrong(lines: string[], count: number, expected: (i: number) => string): number {
  if (lines.length !== count) return Math.min(lines.length, count);
  for (let i = 0; i < count; i++) if (lines[i] !== expected(i)) return i;
  return -1;
}

describe('task logs', () => {
  it('a million lines: each once and in order, as create task --wait prints them and in show logs', { timeout: 300_000 }, async () => {
    const run = await system.tapitWithin(240_000, 'create', 'task', 'seq 1 1000000', '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    const number = (i: number) => String(i + 1);
    expect(firstWrong(appLines(run.stdout), 1_000_000, number)).toBe(-1);
    const logs = await system.tapitWithin(120_000, 'show', 'logs', `task=${idFrom(run.stdout)}`);
    expect(logs.code, logs.stderr).toBe(0);
    expect(firstWrong(appLines(logs.stdout), 1_000_000, number)).toBe(-1);
    expect(logs.stdout).toMatch(/\[system\] Task stopped: EXITED \(exit code 0\)\n$/);
  });

  it('a reader that stops reading slows only its own stream: create task --wait still prints every line once, in order', { timeout: 120_000 }, async () => {
    const cli = system.startTapit(['create', 'task', 'seq 1 300000', '--wait'], 110_000);
    await cli.waitFor(/\[app\] 1\n/);
    // The terminal stops taking output (a paused pager, a slow ssh link): the CLI's writes back
    // up into its follow, while the task prints the rest and ends.
    cli.child.stdout!.pause();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    cli.child.stdout!.resume();
    const run = await cli.result;
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    expect(firstWrong(appLines(run.stdout), 300_000, (i) => String(i + 1))).toBe(-1);
  });

  it('a line longer than a chunk arrives whole, in pieces of 64 KiB', { timeout: 120_000 }, async () => {
    // 655,360 characters of ASCII, then 327,680 é (655,360 bytes): each longer than a chunk (256 KiB),
    // and a multiple of 64 KiB. (Docker's json-file log keeps a character it cuts at 16 KiB as U+FFFD:
    // characters of two bytes are never cut there.)
    const script = `awk 'BEGIN { a = "0123456789"; for (i = 0; i < 16; i++) a = a a; e = "éééééééééé"; for (i = 0; i < 15; i++) e = e e; print "before"; print a; print e; print "after" }'`;
    const ascii = '0123456789'.repeat(65536);
    const accents = 'é'.repeat(327680);
    const run = await system.tapitWithin(90_000, 'create', 'task', script, '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    const logs = await system.tapit('show', 'logs', `task=${idFrom(run.stdout)}`);
    for (const shown of [run.stdout, logs.stdout]) {
      const lines = appLines(shown);
      expect(lines[0]).toBe('before');
      expect(lines.at(-1)).toBe('after');
      const pieces = lines.slice(1, -1);
      expect(pieces.map((piece) => Buffer.byteLength(piece))).toEqual(Array(20).fill(64 * 1024));
      expect(pieces.join('')).toBe(ascii + accents);
    }
  });

  it('shows a log stored one row per line, as schedulers before chunks stored it', async () => {
    const run = await system.tapit('create', 'task', 'echo stored-as-chunks', '--wait');
    expect(run.code, `${run.stderr}\n${why()}`).toBe(0);
    const id = idFrom(run.stdout);
    // Rewrite the finished task's log as that scheduler left it: a row per line.
    const rows = [
      { stream: 'system', text: 'Task status is RUNNING, desired status is RUNNING' },
      { stream: 'stdout', text: 'written before the upgrade' },
      { stream: 'stderr', text: 'its second line' },
      { stream: 'system', text: 'Task stopped: EXITED (exit code 0)' },
    ];
    const client = new pg.Client({ connectionString: system.db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM task_log_chunks WHERE task_id = $1', [id]);
      for (const [i, row] of rows.entries()) {
        await client.query(`INSERT INTO task_log_lines (task_id, position, seq, stream, text, logged_at) VALUES ($1, $2, $3, $4, $5, '2024-05-01T10:00:00Z')`, [
          id,
          i + 1,
          row.stream === 'system' ? null : i,
          row.stream,
          row.text,
        ]);
      }
      await client.query('UPDATE tasks SET log_count = 4, last_agent_seq = 2 WHERE id = $1', [id]);
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    const expected = rows.map((row) => `2024-05-01 10:00:00 [${row.stream === 'system' ? 'system' : 'app'}] ${row.text}`);
    const logs = await system.tapit('show', 'logs', `task=${id}`);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout.split('\n').filter(Boolean)).toEqual(expected);
    const followed = await system.tapit('show', 'logs', `task=${id}`, '--follow');
    expect(followed.code, followed.stderr).toBe(0);
    expect(followed.stdout.split('\n').filter((line) => LOG_LINE.test(line))).toEqual(expected);
    expect((await system.logs(id)).map((line) => [line.position, line.text])).toEqual(rows.map((row, i) => [i + 1, row.text]));
  });
});
