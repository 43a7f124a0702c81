import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseCast, replayCast } from './recording.js';

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
  it('parses the header and the events, skipping a line cut short', () => {
    const parsed = parseCast(cast);
    expect(parsed.header).toMatchObject({ version: 2, width: 80, height: 24 });
    expect(parsed.events.map((e) => e.code)).toEqual(['o', 'i', 'o', 'r', 'o']);
  });

  it('replays only the output, at the recorded pace divided by speed, with long pauses capped', async () => {
    const out = new PassThrough();
    const pauses: number[] = [];
    await replayCast(parseCast(cast), out, { speed: 2, idleLimit: 3, sleep: async (ms) => void pauses.push(ms) });
    expect(out.read()!.toString()).toBe('$ ls\r\n');
    expect(pauses.map((ms) => Math.round(ms))).toEqual([250, 350, 1500]);
  });
});
