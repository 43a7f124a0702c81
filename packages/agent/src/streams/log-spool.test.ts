import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_AGENT_FRAME_BYTES } from '@tapit/protocol';
import { linesOfRun, type LogRun } from '@tapit/protocol';
import { CHUNK_CHARS, LogSpool, MAX_LINE_BYTES, splitLine } from './log-spool.js';

const id = 'a'.repeat(32);
const at = '2024-01-01T00:00:00.000Z';
const line = (text: string) => ({ stream: 'stdout' as const, text, at });

describe('LogSpool', () => {
  it('hands out chunks whose frame stays under the scheduler\'s frame limit, even of control characters', () => {
    // The worst case of JSON: every character a control character, escaped as \u0000 (6 bytes).
    const spool = LogSpool.open(mkdtempSync(join(tmpdir(), 'spool-')), id);
    const worst = '\u0001'.repeat(MAX_LINE_BYTES);
    spool.append(Array.from({ length: 12 }, () => line(worst)));
    const chunk = spool.after(0);
    const frame = JSON.stringify({ type: 'task.log', taskId: id, seq: chunk[0]!.seq, lines: chunk.map(({ stream, text, at }) => ({ stream, text, at })) });
    expect(chunk.length).toBeGreaterThan(1);
    expect(Buffer.byteLength(frame)).toBeLessThan(MAX_AGENT_FRAME_BYTES);
    // Many short lines are bounded by count.
    const many = LogSpool.open(mkdtempSync(join(tmpdir(), 'spool-')), id);
    many.append(Array.from({ length: 1500 }, () => line('\u0001'.repeat(500))));
    const lines = many.after(0);
    expect(Buffer.byteLength(JSON.stringify({ lines }))).toBeLessThan(MAX_AGENT_FRAME_BYTES);
  });

  it('numbers lines from 1 and keeps them until acked', () => {
    const spool = LogSpool.open(mkdtempSync(join(tmpdir(), 'spool-')), id);
    spool.append([line('a'), line('b'), line('c')], { ts: 'x', n: 1 });
    expect(spool.after(0).map((l) => [l.seq, l.text])).toEqual([[1, 'a'], [2, 'b'], [3, 'c']]);
    spool.ack(2);
    expect(spool.after(0).map((l) => l.seq)).toEqual([3]);
    expect(spool.ackedSeq).toBe(2);
  });

  it('comes back from disk with its seq, unacked lines and cursor', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const first = LogSpool.open(dir, id);
    first.append([line('a'), line('b')], { ts: 't1', n: 1 });
    first.ack(1);
    first.append([line('c')], { ts: 't2', n: 1 });
    first.close();
    const again = LogSpool.open(dir, id);
    expect(again.lastSeq).toBe(3);
    expect(again.cursor).toEqual({ ts: 't2', n: 1 });
    expect(again.after(again.ackedSeq).map((l) => l.text)).toEqual(again.ackedSeq === 1 ? ['b', 'c'] : ['a', 'b', 'c']);
    again.append([line('d')]);
    expect(again.after(3).map((l) => [l.seq, l.text])).toEqual([[4, 'd']]);
  });

  it('drops a batch cut short by a crash, with its lines, so they are read again from the old cursor', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = LogSpool.open(dir, id);
    spool.append([line('a')], { ts: 't1', n: 1 });
    spool.close();
    // A torn write: the first record of a two-line batch, then half of the second.
    const path = join(dir, `${id}.log.jsonl`);
    appendFileSync(path, JSON.stringify({ seq: 2, stream: 'stdout', text: 'b', at, more: 1 }) + '\n{"seq":3,"str');
    const again = LogSpool.open(dir, id);
    expect(again.lastSeq).toBe(1);
    expect(again.cursor).toEqual({ ts: 't1', n: 1 });
    again.append([line('b'), line('c')], { ts: 't2', n: 2 });
    again.close();
    expect(LogSpool.open(dir, id).after(0).map((l) => l.text)).toEqual(['a', 'b', 'c']);
    expect(readFileSync(path, 'utf8')).not.toContain('"str\n');
  });

  it('keeps only a window of unacked lines in memory; the rest come from disk as acks arrive', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = LogSpool.open(dir, id, 4000);
    for (let i = 1; i <= 300; i++) spool.append([line(`l${i}`)], { ts: `t${i}`, n: 1 });
    const window = spool.after(0, 10_000);
    expect(window.length).toBeGreaterThan(5);
    expect(window.length).toBeLessThan(100);
    const drain = (s: LogSpool) => {
      const seen: string[] = [];
      for (let guard = 0; guard < 1000 && s.ackedSeq < s.lastSeq; guard++) {
        const next = s.after(s.ackedSeq, 10);
        seen.push(...next.map((l) => l.text));
        s.ack(next.at(-1)?.seq ?? s.ackedSeq);
      }
      return seen;
    };
    expect(drain(spool).slice(0, 20)).toEqual(Array.from({ length: 20 }, (_, i) => `l${i + 1}`));
    // And again after a restart with many lines only on disk, plus a torn tail.
    const again = LogSpool.open(dir, 'b'.repeat(32), 4000);
    for (let i = 1; i <= 300; i++) again.append([line(`m${i}`)], { ts: `t${i}`, n: 1 });
    again.ack(7);
    again.close();
    appendFileSync(join(dir, `${'b'.repeat(32)}.log.jsonl`), '{"seq":301,"str');
    const reloaded = LogSpool.open(dir, 'b'.repeat(32), 4000);
    expect(reloaded.lastSeq).toBe(300);
    // Acks are not written while lines overflow to disk; the welcome's ack covers them again.
    expect(drain(reloaded)).toEqual(Array.from({ length: 300 }, (_, i) => `m${i + 1}`));
    reloaded.append([line('after')], { ts: 'z', n: 1 });
    expect(reloaded.after(300).map((l) => [l.seq, l.text])).toEqual([[301, 'after']]);
  });

  it('compacts by copying the records of unacked lines as they were written, not by writing the window again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const path = join(dir, `${id}.log.jsonl`);
    const spool = LogSpool.open(dir, id);
    for (let i = 1; i <= 600; i++) spool.append([line(`l${i}`)], { ts: `t${i}`, n: 1 });
    const unacked = readFileSync(path, 'utf8').split('\n').filter((record) => record !== '' && JSON.parse(record).seq > 550);
    expect(unacked).toHaveLength(50);
    spool.ack(550); // acked records outnumber the rest: the file is rewritten without them
    const [head, ...rest] = readFileSync(path, 'utf8').trim().split('\n');
    expect(JSON.parse(head!)).toEqual({ head: { seq: 550, ack: 550, cursor: { ts: 't600', n: 1 } } });
    expect(rest).toEqual(unacked);
    // And it goes on from there, in memory and from disk.
    spool.append([line('l601')], { ts: 't601', n: 1 });
    spool.close();
    const again = LogSpool.open(dir, id);
    expect(again.cursor).toEqual({ ts: 't601', n: 1 });
    expect(again.after(550).map((l) => l.text)).toEqual(Array.from({ length: 51 }, (_, i) => `l${551 + i}`));
  });

  it('reads unacked lines back from disk an eighth of its window at a time, and hands out every one in order', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    // Records of 100 characters cost 296 bytes of memory: the window holds 100 of them.
    const spool = LogSpool.open(dir, id, 29_600);
    for (let i = 1; i <= 400; i++) spool.append([line(`${i}`.padEnd(99, '.'))], { ts: `t${i}`, n: 1 });
    const seen = spool.after(0, 60).map((l) => l.text);
    expect(spool.after(0, 10_000)).toHaveLength(100);
    spool.ack(60); // 40 left in memory, under half the window: some come back from disk
    const inMemory = spool.after(60, 10_000).length;
    expect(inMemory).toBeGreaterThan(40);
    expect(inMemory).toBeLessThanOrEqual(40 + 13);
    for (let guard = 0; guard < 1000 && spool.ackedSeq < spool.lastSeq; guard++) {
      const next = spool.after(spool.ackedSeq, 10);
      seen.push(...next.map((l) => l.text));
      spool.ack(next.at(-1)?.seq ?? spool.ackedSeq);
    }
    expect(seen).toEqual(Array.from({ length: 400 }, (_, i) => `${i + 1}`.padEnd(99, '.')));
  });

  it('splits a line longer than 64 KiB, never inside a character', () => {
    const text = 'é'.repeat(MAX_LINE_BYTES); // 2 bytes each
    const pieces = splitLine(text);
    expect(pieces.length).toBe(2);
    expect(pieces.every((p) => Buffer.byteLength(p) <= MAX_LINE_BYTES)).toBe(true);
    expect(pieces.join('')).toBe(text);
    const spool = LogSpool.open(mkdtempSync(join(tmpdir(), 'spool-')), id);
    spool.append([line('x'.repeat(3 * MAX_LINE_BYTES + 1))]);
    expect(spool.lastSeq).toBe(4);
  });

  const run = (texts: string[], stream: LogRun['stream'] = 'stdout'): LogRun => ({ stream, at, lines: texts.length, text: texts.map((t) => `${t}\n`).join('') });
  const texts = (runs: LogRun[]) => runs.flatMap((r) => linesOfRun(r));

  it('keeps runs in chunks of about 256 KiB, cut between lines, and hands them out joined up to that size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const spool = LogSpool.open(dir, id);
    const numbers = Array.from({ length: 100000 }, (_, i) => String(i + 1)); // 588,895 characters
    spool.appendRuns([run(numbers.slice(0, 50000)), run(numbers.slice(50000), 'stderr')], { ts: 't1', n: 1 });
    expect(spool.lastSeq).toBe(100000);
    const records = readFileSync(join(dir, `${id}.log.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records.length).toBe(3);
    for (const record of records) expect(record.runs.reduce((n: number, r: LogRun) => n + r.text.length, 0)).toBeLessThanOrEqual(CHUNK_CHARS + 7);
    expect(records.map((r) => r.cursor)).toEqual([undefined, undefined, { ts: 't1', n: 1 }]);
    const first = spool.chunkAfter(0)!;
    expect(first).toMatchObject({ seq: 1, full: true });
    expect(texts(first.runs)).toEqual(numbers.slice(0, first.lines));
    // From the middle of a chunk; the next one would pass the size, so it comes next time.
    const middle = spool.chunkAfter(40000)!;
    expect(middle).toMatchObject({ seq: 40001, full: true });
    expect(texts(middle.runs)).toEqual(numbers.slice(40000, 40000 + middle.lines));
    const next = spool.chunkAfter(40000 + middle.lines)!;
    expect(texts(next.runs)).toEqual(numbers.slice(40000 + middle.lines, 40000 + middle.lines + next.lines));
    expect(next.runs.map((r) => r.stream)).toEqual(['stdout', 'stderr']);
    spool.ack(99990);
    expect(spool.chunkAfter(0)).toMatchObject({ seq: 99991, lines: 10 });
    expect(spool.chunkAfter(0)!.full).toBeUndefined();
  });

  it('comes back from disk with its chunks, also after lines an agent before chunks spooled one per record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-'));
    const path = join(dir, `${id}.log.jsonl`);
    // What an agent before chunks left: one record per line.
    appendFileSync(path, [{ seq: 1, stream: 'stdout', text: 'old a', at, more: 1 }, { seq: 2, stream: 'stderr', text: 'old b', at, cursor: { ts: 't0', n: 1 } }].map((r) => JSON.stringify(r) + '\n').join(''));
    const spool = LogSpool.open(dir, id);
    expect(spool.lastSeq).toBe(2);
    spool.appendRuns([run(['new c', 'new d'])], { ts: 't1', n: 2 });
    spool.close();
    const again = LogSpool.open(dir, id);
    expect(again.lastSeq).toBe(4);
    expect(again.cursor).toEqual({ ts: 't1', n: 2 });
    expect(again.after(0).map((l) => [l.seq, l.stream, l.text])).toEqual([
      [1, 'stdout', 'old a'],
      [2, 'stderr', 'old b'],
      [3, 'stdout', 'new c'],
      [4, 'stdout', 'new d'],
    ]);
    expect(texts(again.chunkAfter(1)!.runs)).toEqual(['old b', 'new c', 'new d']);
  });
});
