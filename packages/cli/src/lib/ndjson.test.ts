import { describe, expect, it } from 'vitest';
import { ndjsonBatches } from './ndjson.js';

async function batches(pieces: (string | Buffer)[]): Promise<string[][]> {
  async function* body() {
    for (const piece of pieces) yield typeof piece === 'string' ? Buffer.from(piece) : piece;
  }
  const out: string[][] = [];
  for await (const batch of ndjsonBatches(body())) out.push(batch);
  return out;
}

describe('ndjsonBatches', () => {
  it('yields the complete lines of each read, skips blank ones and a partial last one', async () => {
    expect(await batches(['{"a":1}\n{"b"', ':2}\n\n', '{"c":3}\n{"d"'])).toEqual([['{"a":1}'], ['{"b":2}'], ['{"c":3}']]);
  });

  it('keeps a character cut between two reads whole', async () => {
    const line = Buffer.from('{"text":"€"}\n');
    expect(await batches([line.subarray(0, 11), line.subarray(11)])).toEqual([['{"text":"€"}']]);
  });
});
