import { linesOfChunk, type LogChunk, type LogFollowEvent, type LogLine } from '@tapit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient, ApiError } from './api-client.js';
import { fakeServer } from '../testing/fake-server.js';
import { followLog } from './follow.js';

const line = (position: number): LogFollowEvent => ({
  type: 'line',
  line: { position, stream: 'stdout', text: `line ${position}`, at: '2021-03-17T09:58:34Z' },
});
const ndjson = (events: LogFollowEvent[]) => events.map((e) => `${JSON.stringify(e)}\n`).join('');

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('followLog', () => {
  it('reconnects from the last position when the stream drops, dropping resent lines', async () => {
    let connections = 0;
    const server = await fakeServer((_req, res, url) => {
      connections += 1;
      res.setHeader('content-type', 'application/x-ndjson');
      if (connections === 1) {
        // Two whole lines and half of a third, then the connection dies.
        res.write(ndjson([line(1), { type: 'status', status: 'RUNNING' }, line(2)]) + JSON.stringify(line(3)).slice(0, 20));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      expect(url.searchParams.get('after')).toBe('2');
      res.end(ndjson([line(2), line(3), { type: 'end', status: 'STOPPED', exitCode: 7 }]));
    });
    close = server.close;
    const seen: LogLine[] = [];
    const statuses: string[] = [];
    const reconnects: string[] = [];
    const end = await followLog(
      new ApiClient(server.url, 't'),
      'abcd',
      { onLines: (lines) => void seen.push(...lines), onStatus: (s) => void statuses.push(s), onReconnect: (r) => void reconnects.push(r) },
      { retryDelayMs: 10 },
    );
    expect(end).toEqual({ status: 'STOPPED', exitCode: 7 });
    expect(seen.map((l) => l.position)).toEqual([1, 2, 3]);
    expect(statuses).toEqual(['RUNNING']);
    expect(reconnects).toHaveLength(1);
    expect(server.requests.map((u) => u.searchParams.get('after'))).toEqual(['0', '2']);
  });

  it('follows chunks, and after a reconnect keeps only the lines it has not had', async () => {
    const chunk = (first: number, texts: string[]): LogFollowEvent => ({
      type: 'chunk',
      chunk: { first, runs: [{ stream: 'stdout', at: '2021-03-17T09:58:34Z', lines: texts.length, text: texts.map((t) => `${t}\n`).join('') }] },
    });
    let connections = 0;
    const server = await fakeServer((_req, res, url) => {
      connections += 1;
      res.setHeader('content-type', 'application/x-ndjson');
      if (connections === 1) {
        res.write(ndjson([chunk(1, ['a', 'b'])]));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      expect(url.pathname).toBe('/v1/tasks/abcd/logs/chunks/follow');
      // Sent again from before the position asked for: the client drops what it has.
      res.end(ndjson([chunk(2, ['b', 'c', 'd']), { type: 'end', status: 'STOPPED', exitCode: 0 }]));
    });
    close = server.close;
    const seen: LogChunk[] = [];
    const end = await followLog(new ApiClient(server.url, 't'), 'abcd', { onLines: () => undefined, onChunks: (chunks) => void seen.push(...chunks) }, { retryDelayMs: 10 });
    expect(end).toEqual({ status: 'STOPPED', exitCode: 0 });
    expect(seen.flatMap(linesOfChunk).map((l) => [l.position, l.text])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ]);
    expect(server.requests.map((u) => u.searchParams.get('after'))).toEqual(['0', '2']);
  });

  it('gives up at once on a 4xx (the task is gone)', async () => {
    const server = await fakeServer((_req, res) => {
      res.statusCode = 404;
      res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'task abcd not found' } }));
    });
    close = server.close;
    const error = await followLog(new ApiClient(server.url, 't'), 'abcd', { onLines: () => undefined }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe('task abcd not found');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses past the streams its token may hold at once, but retries it when reopening a dropped stream the scheduler may still count', async () => {
    const busy = (res: import('node:http').ServerResponse) => {
      res.statusCode = 429;
      res.end(JSON.stringify({ error: { code: 'TOO_MANY_STREAMS', message: 'the token "ci" has 100 streams open (…TAPIT_MAX_STREAMS_PER_TOKEN=100)' } }));
    };
    const refused = await fakeServer((_req, res) => busy(res));
    close = refused.close;
    const error = await followLog(new ApiClient(refused.url, 't'), 'abcd', { onLines: () => undefined }).catch((e: unknown) => e);
    expect((error as ApiError).code).toBe('TOO_MANY_STREAMS');
    expect(refused.requests).toHaveLength(1);
    await refused.close();

    let connections = 0;
    const server = await fakeServer((_req, res) => {
      connections += 1;
      if (connections === 2) return busy(res);
      res.setHeader('content-type', 'application/x-ndjson');
      if (connections === 1) {
        res.write(ndjson([line(1)]));
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.end(ndjson([line(2), { type: 'end', status: 'STOPPED', exitCode: 0 }]));
    });
    close = server.close;
    const seen: number[] = [];
    const end = await followLog(new ApiClient(server.url, 't'), 'abcd', { onLines: (lines) => void seen.push(...lines.map((l) => l.position)) }, { retryDelayMs: 10 });
    expect(end).toEqual({ status: 'STOPPED', exitCode: 0 });
    expect(seen).toEqual([1, 2]);
    expect(server.requests).toHaveLength(3);
  });

  it('stops when the signal aborts', async () => {
    const server = await fakeServer((_req, res) => {
      res.setHeader('content-type', 'application/x-ndjson');
      res.write(ndjson([line(1)]));
    });
    close = server.close;
    const controller = new AbortController();
    const following = followLog(new ApiClient(server.url, 't'), 'abcd', { onLines: () => controller.abort() }, { signal: controller.signal });
    await expect(following).rejects.toBeTruthy();
    expect(controller.signal.aborted).toBe(true);
  });
});

describe('followLog from a scheduler older than log chunks', () => {
  const older = () =>
    fakeServer((_req, res, url) => {
      if (url.pathname.endsWith('/chunks/follow')) {
        res.statusCode = 404;
        res.setHeader('content-type', 'application/json');
        return res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: `no route for GET ${url.pathname}` } }));
      }
      res.setHeader('content-type', 'application/x-ndjson');
      res.end(ndjson([line(1), line(2), { type: 'end', status: 'STOPPED', exitCode: 0 }]));
    });

  it('follows the line stream instead', async () => {
    const server = await older();
    close = server.close;
    const seen: LogLine[] = [];
    const end = await followLog(new ApiClient(server.url, 't'), 'abcd', { onLines: (lines) => void seen.push(...lines) }, { retryDelayMs: 10 });
    expect(end).toEqual({ status: 'STOPPED', exitCode: 0 });
    expect(seen.map((l) => l.text)).toEqual(['line 1', 'line 2']);
    expect(server.requests.map((u) => u.pathname)).toEqual(['/v1/tasks/abcd/logs/chunks/follow', '/v1/tasks/abcd/logs/follow']);
  });

  it('says a filter needs a newer scheduler', async () => {
    const server = await older();
    close = server.close;
    const following = followLog(new ApiClient(server.url, 't'), 'abcd', { onLines: () => {} }, { filter: { since: '2021-03-17T09:58:34Z' } });
    await expect(following).rejects.toThrow('--since needs a newer scheduler');
  });
});
