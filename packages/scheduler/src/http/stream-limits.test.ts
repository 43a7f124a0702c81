import type { Task } from '@tapit/protocol';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsoleClient } from '../testing/console-client.js';
import { eventually } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { rawUpgrade } from '../testing/raw-upgrade.js';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

// Two streams per token, three in all, on a whole scheduler: log follows (both kinds) and console
// and exec sessions count alike, and a stream that ends, however it ends, gives its slot back.
describe('caps on concurrent streams', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let agent: ProtocolAgent;
  let consoleTask: Task;
  let backgroundTask: Task;
  let member: string;
  const logs: string[] = [];
  /** Every follow opened, aborted at the end (a failed test must not leave the scheduler unable to close). */
  const opened: AbortController[] = [];

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database, { TAPIT_MAX_STREAMS_PER_TOKEN: '2', TAPIT_MAX_STREAMS: '3' }, (line) => logs.push(line));
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    member = (await scheduler.call('POST', '/v1/tokens', { name: 'member', role: 'member' })).body.token;
    agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('alpha');
    consoleTask = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'bash', kind: 'interactive' })).body;
    backgroundTask = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000' })).body;
    for (let i = 0; i < 2; i++) {
      const { task } = await agent.next('task.assign');
      agent.send({ type: 'task.status', taskId: task.taskId, status: 'RUNNING', at: new Date().toISOString() });
    }
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${backgroundTask.id}`)).body.status === 'RUNNING', 'tasks running');
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${consoleTask.id}`)).body.status === 'RUNNING', 'tasks running');
  });
  afterAll(async () => {
    for (const abort of opened) abort.abort();
    agent?.close();
    await scheduler?.close();
    await database?.drop();
  });

  /** Opens a follow; a refused one is read to its end, an accepted one is read on in the background. */
  const follow = async (token: string, path = 'logs/chunks/follow') => {
    const abort = new AbortController();
    opened.push(abort);
    const response = await fetch(`${scheduler.url}/v1/tasks/${backgroundTask.id}/${path}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    let text = '';
    const ended =
      response.status === 200
        ? (async () => {
            const decoder = new TextDecoder();
            try {
              for await (const part of response.body!) text += decoder.decode(part as Uint8Array, { stream: true });
            } catch {
              // aborted
            }
          })()
        : response.text().then((body) => void (text = body));
    await (response.status === 200 ? eventually(() => text.includes('"type":"status"'), 'follow caught up') : ended);
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: () => text, abort: () => abort.abort(), ended };
  };
  const errorOf = (answer: { body: () => string }) => JSON.parse(answer.body()).error as { code: string; message: string };

  /** A console session: upgraded, and its agent dialled back. */
  const openConsole = async (token: string) => {
    const client = openConsoleClient(scheduler.url, `/v1/tasks/${consoleTask.id}/console`, token);
    await client.opened;
    const open = await agent.next('console.open');
    const stream = new WebSocket(`${scheduler.url.replace(/^http/, 'ws')}/v1/agents/consoles/${open.sessionId}`, { headers: { authorization: `Bearer ${agent.credential}` } });
    await new Promise((resolve, reject) => {
      stream.once('open', resolve);
      stream.once('error', reject);
    });
    return { client, stream };
  };
  const exec = (token: string) => rawUpgrade(scheduler.url, `/v1/tasks/${backgroundTask.id}/exec?command=${encodeURIComponent('["ls"]')}`, { authorization: `Bearer ${token}` });

  it('refuses a token past TAPIT_MAX_STREAMS_PER_TOKEN and the replica past TAPIT_MAX_STREAMS with 429, and frees a slot when a stream ends', async () => {
    // The admin token: a follow and a console, its two.
    const adminFollow = await follow(ADMIN_TOKEN);
    expect(adminFollow.status).toBe(200);
    const adminConsole = await openConsole(ADMIN_TOKEN);

    for (const refused of [await follow(ADMIN_TOKEN), await follow(ADMIN_TOKEN, 'logs/follow')]) {
      expect(refused.status).toBe(429);
      expect(errorOf(refused)).toEqual({ code: 'TOO_MANY_STREAMS', message: expect.stringContaining('TAPIT_MAX_STREAMS_PER_TOKEN') });
      expect(errorOf(refused).message).toContain('at most 2');
    }
    const refusedExec = await exec(ADMIN_TOKEN);
    expect(refusedExec.status).toBe(429);
    expect(JSON.parse(refusedExec.body).error).toEqual({ code: 'TOO_MANY_STREAMS', message: expect.stringContaining('TAPIT_MAX_STREAMS_PER_TOKEN') });
    // Refused before the upgrade: the agent was never asked.
    expect(agent.pending().filter((f) => f.type === 'console.open')).toEqual([]);

    // Another token: one stream fills the replica's three, the next is refused for the replica.
    const memberFollow = await follow(member, 'logs/follow');
    expect(memberFollow.status).toBe(200);
    const full = await follow(member);
    expect(full.status).toBe(429);
    expect(errorOf(full).code).toBe('TOO_MANY_STREAMS');
    expect(errorOf(full).message).toContain('TAPIT_MAX_STREAMS=3');
    expect(full.retryAfter).not.toBeNull();
    const fullConsole = openConsoleClient(scheduler.url, `/v1/tasks/${consoleTask.id}/console`, member);
    const upgradeRefusal = await fullConsole.opened.then(() => undefined, (error: { status: number; body: string }) => error);
    expect(upgradeRefusal?.status).toBe(429);
    expect(JSON.parse(upgradeRefusal!.body).error.message).toContain('TAPIT_MAX_STREAMS=3');

    // A console that ends gives its slot back: the member may open another stream.
    adminConsole.client.ws.close();
    await adminConsole.client.closed;
    let memberSecond: Awaited<ReturnType<typeof follow>> | undefined;
    await eventually(async () => {
      memberSecond = await follow(member);
      return memberSecond.status === 200;
    }, 'a slot freed by the console');
    // A follow the client leaves gives its slot back too.
    adminFollow.abort();
    await adminFollow.ended;
    let adminConsoleAgain: Awaited<ReturnType<typeof openConsole>> | undefined;
    await eventually(async () => {
      const answer = await follow(ADMIN_TOKEN);
      if (answer.status !== 200) return false;
      answer.abort();
      await answer.ended;
      adminConsoleAgain = await openConsole(ADMIN_TOKEN).catch(() => undefined);
      return adminConsoleAgain !== undefined;
    }, 'a slot freed by the follow');

    // Revoking the member's token ends its two follows and frees both slots.
    expect((await scheduler.call('DELETE', '/v1/tokens/member')).status).toBe(204);
    await Promise.all([memberFollow.ended, memberSecond!.ended]);
    const afterRevoke = await follow(ADMIN_TOKEN);
    expect(afterRevoke.status).toBe(200);

    // Streams that end with the task (their `end`) free theirs.
    adminConsoleAgain!.client.ws.close();
    await adminConsoleAgain!.client.closed;
    const another = await follow(ADMIN_TOKEN, 'logs/follow');
    expect(another.status).toBe(200);
    expect((await follow(ADMIN_TOKEN)).status).toBe(429);
    await scheduler.call('POST', `/v1/tasks/${backgroundTask.id}/stop`);
    const agentStop = await agent.next('task.stop');
    const now = new Date().toISOString();
    agent.send({ type: 'task.exited', taskId: agentStop.taskId, stopCode: 'USER_STOPPED', exitCode: null, reason: null, usage: { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null }, startedAt: now, finishedAt: now, lastSeq: 0 });
    await Promise.all([afterRevoke.ended, another.ended]);
    expect(another.body()).toContain('"type":"end"');
    const last = await follow(ADMIN_TOKEN);
    expect(last.status).toBe(200);
    expect(last.body()).toContain('"type":"end"');
  });
});
