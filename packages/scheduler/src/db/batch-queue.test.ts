import { describe, expect, it } from 'vitest';
import { BatchQueue } from './batch-queue.js';

describe('BatchQueue', () => {
  it('handles what arrives together in one batch and answers each its own', async () => {
    const batches: number[][] = [];
    const queue = new BatchQueue<number, number>({
      commit: async (items) => {
        batches.push(items);
        return items.map((n) => (n % 2 === 0 ? { ok: true, value: n * 10 } : { ok: false, error: new Error(`odd ${n}`) }));
      },
    });
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => queue.submit(n)));
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['odd 1', 20, 'odd 3', 40]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it('gathers what arrives during a batch into the next one, and never into one in flight', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const queue = new BatchQueue<number, number>({
      commit: async (items) => {
        batches.push(items);
        if (batches.length === 1) await held;
        return items.map((value) => ({ ok: true, value }));
      },
    });
    const first = queue.submit(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((n) => queue.submit(n));
    release();
    expect(await Promise.all([first, ...later])).toEqual([1, 2, 3, 4]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('handles each item alone when its batch fails as a whole, so only the cause fails', async () => {
    const batches: string[][] = [];
    const queue = new BatchQueue<string, string>({
      commit: async (items) => {
        batches.push(items);
        if (items.includes('poison')) throw new Error('the batch failed');
        return items.map((value) => ({ ok: true, value }));
      },
    });
    const settled = await Promise.allSettled(['a', 'poison', 'b'].map((item) => queue.submit(item)));
    expect(settled).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: new Error('the batch failed') },
      { status: 'fulfilled', value: 'b' },
    ]);
    expect(batches).toEqual([['a', 'poison', 'b'], ['a'], ['poison'], ['b']]);
  });

  it('fails every item of a batch at once when retrying them alone is no use (the database is away)', async () => {
    const batches: string[][] = [];
    const queue = new BatchQueue<string, string>({
      commit: async (items) => {
        batches.push(items);
        throw new Error('Connection terminated');
      },
      retryAlone: () => false,
    });
    const settled = await Promise.allSettled(['a', 'b', 'c'].map((item) => queue.submit(item)));
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(batches).toEqual([['a', 'b', 'c']]);
  });

  it('keeps items of the same conflict key out of one batch, in their order', async () => {
    const batches: string[][] = [];
    const queue = new BatchQueue<string, string>({
      commit: async (items) => {
        batches.push(items);
        return items.map((value) => ({ ok: true, value }));
      },
      conflictKey: (item) => item[0]!,
    });
    await Promise.all(['k1', 'x1', 'k2', 'y1', 'k3'].map((item) => queue.submit(item)));
    expect(batches).toEqual([['k1', 'x1', 'y1'], ['k2'], ['k3']]);
  });

  it('makes batches of at most maxBatch items', async () => {
    const sizes: number[] = [];
    const queue = new BatchQueue<number, number>({
      commit: async (items) => {
        sizes.push(items.length);
        return items.map((value) => ({ ok: true, value }));
      },
      maxBatch: 4,
    });
    await Promise.all(Array.from({ length: 10 }, (_, i) => queue.submit(i)));
    expect(sizes).toEqual([4, 4, 2]);
  });
});
