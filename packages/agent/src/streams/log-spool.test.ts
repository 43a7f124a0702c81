import { appendFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LogSpool, MAX_LINE_BYTES, splitLine } from './log-spool.js';

const id = 'a'.repeat(32);
const at = '2024-01-01T00:00:00.000Z';
const line = (text: string) => ({ stream: 'stdout' as const, text, at });

describe('LogSpool', () => {
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
});
