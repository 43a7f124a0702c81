import { describe, expect, it } from 'vitest';
import { FrameLanes } from './frame-lanes.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

function lanes(maxBytes = 1024 * 1024) {
  const calls: string[] = [];
  const errors: unknown[] = [];
  const frameLanes = new FrameLanes({ maxBytes, pause: () => calls.push('pause'), resume: () => calls.push('resume'), onError: (error) => errors.push(error) });
  return { frameLanes, calls, errors };
}

describe('FrameLanes', () => {
  it("handles a lane's frames in order, one at a time, and other lanes' frames beside them", async () => {
    const { frameLanes } = lanes();
    const done: string[] = [];
    const first = deferred();
    frameLanes.push('flood', 10, async () => {
      await first.promise;
      done.push('flood 1');
    });
    frameLanes.push('flood', 10, async () => void done.push('flood 2'));
    frameLanes.push('quiet', 10, async () => void done.push('quiet 1'));
    await settle();
    expect(done).toEqual(['quiet 1']);
    first.resolve();
    await settle();
    expect(done).toEqual(['quiet 1', 'flood 1', 'flood 2']);
  });

  it('starts every frame on a turn of the event loop of its own, even when the frames before it never waited', async () => {
    const { frameLanes } = lanes();
    let turn = 0;
    let counting = true;
    const count = () => {
      turn++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const turns: number[] = [];
    for (let i = 0; i < 4; i++) frameLanes.push('flood', 10, async () => void turns.push(turn));
    await settle();
    counting = false;
    expect(turns).toHaveLength(4);
    for (let i = 1; i < turns.length; i++) expect(turns[i]).toBeGreaterThan(turns[i - 1]!);
  });

  it('waits at a barrier for every frame before it, and holds every frame after it', async () => {
    const { frameLanes } = lanes();
    const done: string[] = [];
    const slow = deferred();
    frameLanes.push('a', 1, async () => {
      await slow.promise;
      done.push('a 1');
    });
    frameLanes.barrier(1, async () => void done.push('barrier'));
    frameLanes.push('a', 1, async () => void done.push('a 2'));
    frameLanes.push('b', 1, async () => void done.push('b 1'));
    await settle();
    expect(done).toEqual([]);
    slow.resolve();
    await settle();
    expect(done.slice(0, 2)).toEqual(['a 1', 'barrier']);
    expect(done.slice(2).sort()).toEqual(['a 2', 'b 1']);
  });

  it('stops reading past its bytes, and reads again once what waits is below half of them', async () => {
    const { frameLanes, calls } = lanes(100);
    const gates = [deferred(), deferred(), deferred()];
    for (const gate of gates) frameLanes.push('flood', 40, () => gate.promise);
    expect(calls).toEqual(['pause']); // 120 bytes waiting
    gates[0]!.resolve();
    await settle();
    expect(calls).toEqual(['pause']); // 80
    gates[1]!.resolve();
    await settle();
    expect(calls).toEqual(['pause', 'resume']); // 40
    gates[2]!.resolve();
    await settle();
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('reports a frame that failed and goes on with the next', async () => {
    const { frameLanes, errors } = lanes();
    const done: string[] = [];
    frameLanes.push('a', 1, async () => {
      throw new Error('bad row');
    });
    frameLanes.push('a', 1, async () => void done.push('a 2'));
    await settle();
    expect(errors.map((error) => (error as Error).message)).toEqual(['bad row']);
    expect(done).toEqual(['a 2']);
  });
});
