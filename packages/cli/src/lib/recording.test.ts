import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { castEvents, replayCast, type CastEvent } from './recording.js';

const cast = [
  JSON.stringify({ version: 2, width: 80, height: 24, timestamp: 1 }),
  JSON.stringify([0.5, 'o', '$ ']),
  JSON.stringify([1.0, 'i', 'l']),
  JSON.stringify([1.2, 'o', 'l']),
  JSON.stringify([1.3, 'r', '100x30']),
  JSON.stringify([9.2, 'o', 's\r\n']),
  '[12.0, "o", "cut sh',
  '',
].join('\n');

describe('recordings', () => {
  /** The file's events, as it arrives in reads of `size` bytes. */
  async function eventsOf(size: number) {
    async function* arriving() {
      for (let i = 0; i < cast.length; i += size) yield Buffer.from(cast.slice(i, i + size));
    }
    const events: CastEvent[] = [];
    for await (const event of castEvents(arriving())) events.push(event);
    return events;
  }

  it('reads the events after the header, skipping a line cut short', async () => {
    expect((await eventsOf(cast.length)).map((e) => e.code)).toEqual(['o', 'i', 'o', 'r', 'o']);
  });

  it('replays only the output, at the recorded pace divided by speed, with long pauses capped', async () => {
    const out = new PassThrough();
    const pauses: number[] = [];
    await replayCast(await eventsOf(cast.length), out, { speed: 2, idleLimit: 3, sleep: async (ms) => void pauses.push(ms) });
    out.end();
    // Every chunk written (Node 26's read() hands back one chunk at a time).
    expect(Buffer.concat(await out.toArray()).toString()).toBe('$ ls\r\n');
    expect(pauses.map((ms) => Math.round(ms))).toEqual([250, 350, 1500]);
  });

  it('reads the same events when lines are split across reads', async () => {
    expect(await eventsOf(7)).toEqual(await eventsOf(cast.length));
  });
});
