import { describe, expect, it } from 'vitest';
import { RecentChunks } from './recent-chunks.js';

const chunk = (first: number, lines: number, chars = 10) => ({ first, lines, runs: 'x'.repeat(chars) });

describe('RecentChunks', () => {
  it('serves the chunks that follow on from a position, only from the first line of one', () => {
    const recent = new RecentChunks();
    recent.remember('t', chunk(5, 3));
    recent.remember('t', chunk(8, 2));
    recent.remember('t', chunk(10, 1));
    expect(recent.from('t', 8, 1000).map((c) => c.first)).toEqual([8, 10]);
    expect(recent.from('t', 6, 1000)).toEqual([]); // inside a chunk: the database cuts it
    expect(recent.from('t', 11, 1000)).toEqual([]);
    expect(recent.from('other', 5, 1000)).toEqual([]);
    expect(recent.from('t', 5, 15).map((c) => c.first)).toEqual([5, 8]); // about 15 characters
  });

  it('starts again after a hole (a [system] line stored by a transaction), and keeps a bounded amount', () => {
    const recent = new RecentChunks(100, 30);
    recent.remember('t', chunk(1, 2));
    recent.remember('t', chunk(4, 1)); // position 3 was stored elsewhere
    expect(recent.from('t', 1, 1000)).toEqual([]);
    expect(recent.from('t', 4, 1000).map((c) => c.first)).toEqual([4]);
    for (let i = 0; i < 5; i++) recent.remember('t', chunk(5 + i, 1));
    expect(recent.from('t', 7, 1000).map((c) => c.first)).toEqual([7, 8, 9]); // 30 characters a task
    for (let task = 0; task < 5; task++) recent.remember(`u${task}`, chunk(1, 1, 30));
    expect(recent.from('t', 7, 1000)).toEqual([]); // the least recent task made room
    expect(recent.from('u4', 1, 1000)).toHaveLength(1);
  });
});
