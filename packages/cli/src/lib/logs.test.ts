import type { LogChunk, LogLine, LogPage } from '@tapit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from './api-client.js';
import { fakeServer } from '../testing/fake-server.js';
import { readLog } from './logs.js';
import { lastPosition } from './log-chunks.js';

/** A scheduler from before log chunks: `…/logs` pages of lines, and its own 404 for any other path. */
function olderScheduler(lines: LogLine[]) {
  return fakeServer((_req, res, url) => {
    res.setHeader('content-type', 'application/json');
    if (!url.pathname.endsWith('/logs')) {
      res.statusCode = 404;
      return res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route for GET ${url.pathname}` } }));
    }
    const tail = url.searchParams.get('tail');
    const after = Number(url.searchParams.get('after') ?? 0);
    const limit = Number(url.searchParams.get('limit') ?? 1000);
    const page = tail ? lines.slice(-Number(tail)) : lines.filter((line) => line.position > after).slice(0, limit);
    res.end(JSON.stringify({ lines: page, last: page.at(-1)?.position ?? after, complete: true } satisfies LogPage));
  });
}

const lines = Array.from({ length: 25_000 }, (_, i): LogLine => ({ position: i + 1, stream: i % 2 ? 'stderr' : 'stdout', text: `line ${i + 1}`, at: '2021-03-17T09:58:34Z' }));

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('readLog from a scheduler older than log chunks', () => {
  async function read(selection: Parameters<typeof readLog>[3] = {}) {
    const server = await olderScheduler(lines);
    close = server.close;
    const chunks: LogChunk[] = [];
    const read = await readLog(new ApiClient(server.url, 't'), 'abcd', (page) => void chunks.push(...page), selection);
    const texts = chunks.flatMap((chunk) => chunk.runs.flatMap((run) => run.text.split('\n').slice(0, -1)));
    return { read, texts, chunks, paths: server.requests.map((u) => `${u.pathname.replace('/v1/tasks/abcd', '')}${u.search}`) };
  }

  it('reads every line through the line pages, in order, each once', async () => {
    const { read: result, texts, chunks, paths } = await read();
    expect(texts).toEqual(lines.map((line) => line.text));
    expect(chunks.map((chunk) => chunk.runs[0]!.stream)).toEqual(lines.map((line) => line.stream));
    expect(result.last).toBe(25_000);
    expect(lastPosition(chunks.at(-1)!)).toBe(25_000);
    expect(paths).toEqual(['/logs/chunks?after=0', '/logs?after=0&limit=10000', '/logs?after=10000&limit=10000', '/logs?after=20000&limit=10000']);
  });

  it('reads a tail, and says a filter needs a newer scheduler', async () => {
    expect((await read({ tail: 3 })).texts).toEqual(['line 24998', 'line 24999', 'line 25000']);
    await close?.();
    await expect(read({ stream: 'stderr' })).rejects.toThrow('--stream needs a newer scheduler: this one has no log chunks (upgrade tapit-scheduler)');
  });
});
