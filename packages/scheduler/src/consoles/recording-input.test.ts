import { ConsoleChannel, encodeConsoleData, type Task } from '@tapit/protocol';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

describe('console recordings', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let agent: ProtocolAgent;
  const tasks: Record<string, Task> = {};
  const ws = (url: string) => url.replace(/^http/, 'ws');

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database);
    agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('alpha');
    await scheduler.call('POST', APP_PATH, { name: 'plain', image: 'web:1' });
    await scheduler.call('POST', APP_PATH, { name: 'typed', image: 'web:1', recordInput: true });
    for (const app of ['plain', 'typed']) {
      tasks[app] = (await scheduler.call('POST', `${APP_PATH}/${app}/tasks`, { command: 'bash', kind: 'interactive' })).body;
      const { task } = await agent.next('task.assign');
      agent.send({ type: 'task.status', taskId: task.taskId, status: 'RUNNING', at: new Date().toISOString() });
    }
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks?status=RUNNING`)).body.items.length === 2);
  });
  afterAll(async () => {
    agent.close();
    await scheduler.close();
    await database.drop();
  });

  /** A session where the program asks for a password and the user types one; its recording. */
  async function typePassword(task: Task) {
    const client = new WebSocket(`${ws(scheduler.url)}/v1/tasks/${task.id}/console`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const clientClosed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const open = await agent.next('console.open');
    const stream = new WebSocket(`${ws(scheduler.url)}/v1/agents/consoles/${open.sessionId}`, { headers: { authorization: `Bearer ${agent.credential}` } });
    const typed: Buffer[] = [];
    stream.on('message', (data, isBinary) => isBinary && typed.push(Buffer.from(data as Buffer)));
    await new Promise((resolve, reject) => stream.once('open', resolve).once('error', reject));
    stream.send(encodeConsoleData(ConsoleChannel.stdout, Buffer.from('Password: ')));
    client.send(encodeConsoleData(ConsoleChannel.stdin, Buffer.from('hunter2\r')));
    await eventually(() => typed.length > 0);
    stream.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
    stream.close();
    await clientClosed;
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${task.id}/consoles`)).body.items[0]?.closedAt != null);
    const session = (await scheduler.call('GET', `/v1/tasks/${task.id}/consoles`)).body.items[0];
    const cast = await fetch(`${scheduler.url}/v1/consoles/${open.sessionId}/recording`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const events = (await cast.text())
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as [number, string, string]);
    return { session, events: events.map((e) => [e[1], e[2]]), sessionId: open.sessionId as string };
  }

  it('keep output only, unless the app opted in to input recording', async () => {
    const plain = await typePassword(tasks.plain);
    expect(plain.events).toEqual([['o', 'Password: ']]);
    expect(plain.session.inputRecorded).toBe(false);
    expect((await scheduler.call('GET', `${APP_PATH}/plain`)).body.recordInput).toBe(false);

    const typed = await typePassword(tasks.typed);
    expect(typed.events).toEqual([
      ['o', 'Password: '],
      ['i', 'hunter2\r'],
    ]);
    expect(typed.session.inputRecorded).toBe(true);
    expect((await scheduler.call('GET', `${APP_PATH}/typed`)).body.recordInput).toBe(true);
  });

  it('can be read by a member, not by a viewer (who still sees the session list)', async () => {
    const { sessionId } = (await typePassword(tasks.typed)) ?? {};
    const read = async (token: string) =>
      (await fetch(`${scheduler.url}/v1/consoles/${sessionId}/recording`, { headers: { authorization: `Bearer ${token}` } })).status;
    const viewer = (await scheduler.call('POST', '/v1/tokens', { name: 'auditor', role: 'viewer' })).body.token;
    const member = (await scheduler.call('POST', '/v1/tokens', { name: 'developer', role: 'member' })).body.token;
    expect(await read(viewer)).toBe(403);
    expect(await read(member)).toBe(200);
    const list = await fetch(`${scheduler.url}/v1/tasks/${tasks.typed.id}/consoles`, { headers: { authorization: `Bearer ${viewer}` } });
    expect(list.status).toBe(200);
  });
});
