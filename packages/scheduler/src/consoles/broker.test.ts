import { ConsoleChannel, encodeConsoleData, type Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialBack, openConsoleClient } from '../testing/console-client.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('console sessions through the scheduler', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  let agent: ProtocolAgent;
  let consoleTask: Task;
  let backgroundTask: Task;

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database);
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
    agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('alpha');
    consoleTask = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'bash', kind: 'interactive' })).body;
    backgroundTask = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000' })).body;
    for (let i = 0; i < 2; i++) {
      const { task } = await agent.next('task.assign');
      agent.send({ type: 'task.status', taskId: task.taskId, status: 'RUNNING', at: new Date().toISOString() });
    }
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${consoleTask.id}`)).body.status === 'RUNNING');
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${backgroundTask.id}`)).body.status === 'RUNNING');
  });
  afterAll(async () => {
    agent.close();
    await scheduler.close();
    await database.drop();
  });

  /** Plays the agent's side of a session: takes console.open and dials back. */
  const agentDialsBack = async () => dialBack(scheduler.url, agent.credential, await agent.next('console.open'));

  it('relays bytes both ways, unchanged, and the exit code; records the session', async () => {
    const client = openConsoleClient(scheduler.url, `/v1/tasks/${consoleTask.id.slice(0, 10)}/console?cols=100&rows=30`);
    await client.opened;
    // Typed before the agent is there: must not be lost.
    client.ws.send(encodeConsoleData(ConsoleChannel.stdin, Buffer.from('early\r')));
    const { open, stream, received } = await agentDialsBack();
    expect(open).toMatchObject({ taskId: consoleTask.id, mode: 'attach', command: null, tty: true, size: { cols: 100, rows: 30 }, openedBy: 'bootstrap' });
    stream.send(JSON.stringify({ type: 'attached', sessionId: open.sessionId, replayed: 0 }));
    const screen = Buffer.from('\x1b[1mprompt$\x1b[0m é ');
    stream.send(encodeConsoleData(ConsoleChannel.stdout, screen));
    await eventually(() => client.text() === screen.toString());
    client.ws.send(encodeConsoleData(ConsoleChannel.stdin, Buffer.from([0x03])));
    client.ws.send(JSON.stringify({ type: 'resize', cols: 120, rows: 40 }));
    await eventually(() => received.length >= 3);
    expect(received[0]).toEqual(Buffer.from(encodeConsoleData(ConsoleChannel.stdin, Buffer.from('early\r'))));
    expect(received[1]).toEqual(Buffer.from([ConsoleChannel.stdin, 0x03]));
    expect(JSON.parse(received[2] as string)).toEqual({ type: 'resize', cols: 120, rows: 40 });
    stream.send(JSON.stringify({ type: 'exited', exitCode: 7 }));
    stream.close();
    await client.closed;
    expect(client.frames).toEqual([
      { type: 'attached', sessionId: open.sessionId, replayed: 0 },
      { type: 'exited', exitCode: 7 },
    ]);

    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${consoleTask.id}/consoles`)).body.items[0]?.closedAt !== null);
    const sessions = (await scheduler.call('GET', `/v1/tasks/${consoleTask.id}/consoles`)).body.items;
    expect(sessions).toEqual([expect.objectContaining({ id: open.sessionId, mode: 'attach', openedBy: 'bootstrap', exitCode: 7, endReason: 'exited' })]);
    const cast = await fetch(`${scheduler.url}/v1/consoles/${open.sessionId}/recording`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(cast.headers.get('content-type')).toBe('application/x-asciicast');
    const [header, ...events] = (await cast.text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(header).toMatchObject({ version: 2, width: 100, height: 30 });
    // Output and resizes only: what the user types is kept only for apps that opt in (recording-input.test.ts).
    expect(events.map((e: [number, string, string]) => [e[1], e[2]])).toEqual([
      ['o', screen.toString()],
      ['r', '120x40'],
    ]);
    const audit = await database.db.selectFrom('audit_events').select('action').where('target_id', '=', consoleTask.id).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['task.create', 'console.attach', 'console.end']);
  });

  it('opens an exec with its command and pipes, and ends when the agent says it exited', async () => {
    const command = encodeURIComponent(JSON.stringify(['cat', '/etc/hostname']));
    const client = openConsoleClient(scheduler.url, `/v1/tasks/${backgroundTask.id}/exec?tty=0&command=${command}`);
    await client.opened;
    const { open, stream } = await agentDialsBack();
    expect(open).toMatchObject({ mode: 'exec', command: ['cat', '/etc/hostname'], tty: false });
    stream.send(encodeConsoleData(ConsoleChannel.stderr, Buffer.from('warning\n')));
    stream.send(JSON.stringify({ type: 'exited', exitCode: 0 }));
    stream.close();
    await client.closed;
    expect(client.text()).toBe('warning\n');
    expect(client.frames).toEqual([{ type: 'exited', exitCode: 0 }]);
  });

  it('refuses before the upgrade, with the reason, and audits it', async () => {
    const refused = async (path: string, token?: string) => {
      const client = openConsoleClient(scheduler.url, path, token);
      const error = await client.opened.then(() => undefined, (e: { status: number; body: string }) => e);
      expect(error, path).toBeDefined();
      return { status: error!.status, error: JSON.parse(error!.body).error };
    };
    expect((await refused(`/v1/tasks/${consoleTask.id}/console`, 'wrong-token-wrong-token')).status).toBe(401);
    const viewer = (await scheduler.call('POST', '/v1/tokens', { name: 'looker', role: 'viewer' })).body.token;
    expect((await refused(`/v1/tasks/${consoleTask.id}/console`, viewer)).status).toBe(403);
    const background = await refused(`/v1/tasks/${backgroundTask.id}/console`);
    expect(background.status).toBe(409);
    expect(background.error.message).toContain('task:attach');
    const badCommand = await refused(`/v1/tasks/${backgroundTask.id}/exec?command=ls`);
    expect(badCommand).toMatchObject({ status: 400, error: { field: 'command' } });
    const stopped = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'true' })).body;
    await scheduler.call('POST', `/v1/tasks/${stopped.id}/stop`);
    const notRunning = await refused(`/v1/tasks/${stopped.id}/exec?command=${encodeURIComponent('["ls"]')}`);
    expect(notRunning.status).toBe(409);
    expect(notRunning.error.message).toContain('only a RUNNING task');
    // Every refusal of a token holder is audited; a wrong token is only counted (see upgrade-refusals.test.ts).
    const audit = await database.db.selectFrom('audit_events').select(['action', 'actor']).where('action', 'like', 'console.%.refused').execute();
    expect(audit).toHaveLength(4);
    expect(audit).toContainEqual({ action: 'console.attach.refused', actor: 'looker' });
    expect(audit.map((a) => a.actor)).not.toContain('anonymous');
    expect(agent.pending().filter((f) => f.type === 'console.open')).toEqual([]);
  });

  /** A console opened with a fresh member token, relayed to the agent's stream. */
  async function memberConsole(name: string) {
    const token = (await scheduler.call('POST', '/v1/tokens', { name, role: 'member' })).body.token as string;
    const client = openConsoleClient(scheduler.url, `/v1/tasks/${consoleTask.id}/console`, token);
    await client.opened;
    const { open, stream } = await agentDialsBack();
    stream.send(encodeConsoleData(ConsoleChannel.stdout, Buffer.from('$ ')));
    await eventually(() => client.text() === '$ ');
    const agentClosed = new Promise<void>((resolve) => stream.on('close', () => resolve()));
    return { client, open, agentClosed };
  }

  it('ends a session at once when its token is revoked on this replica, and says why', async () => {
    const { client, open, agentClosed } = await memberConsole('revoked-here');
    expect((await scheduler.call('DELETE', '/v1/tokens/revoked-here')).status).toBe(204);
    await client.closed;
    await agentClosed; // the agent's stream closes as on a detach: the console itself goes on
    expect(client.frames.at(-1)).toEqual({ type: 'error', message: 'the token "revoked-here" was revoked' });
    await eventually(async () => (await scheduler.call('GET', `/v1/tasks/${consoleTask.id}/consoles`)).body.items.find((i: { id: string }) => i.id === open.sessionId)?.closedAt != null);
    const session = (await scheduler.call('GET', `/v1/tasks/${consoleTask.id}/consoles`)).body.items.find((i: { id: string }) => i.id === open.sessionId);
    expect(session).toMatchObject({ openedBy: 'revoked-here', endReason: 'token revoked' });
    expect((await scheduler.call('GET', `/v1/tasks/${consoleTask.id}`)).body.status).toBe('RUNNING');
  });

  it('ends a session when its token is revoked on another replica (seen in the tokens table)', async () => {
    const { client } = await memberConsole('revoked-elsewhere');
    // What another replica's DELETE /v1/tokens does: only the table changes, no local signal.
    await database.db.updateTable('tokens').set({ revoked_at: new Date() }).where('name', '=', 'revoked-elsewhere').execute();
    await client.closed;
    expect(client.frames.at(-1)).toEqual({ type: 'error', message: 'the token "revoked-elsewhere" was revoked' });
  });

  it('tells the client when the agent never dials back', { timeout: 30_000 }, async () => {
    const client = openConsoleClient(scheduler.url, `/v1/tasks/${consoleTask.id}/console`);
    await client.opened;
    await agent.next('console.open');
    await client.closed;
    expect(client.frames[0]).toMatchObject({ type: 'error' });
    expect((client.frames[0] as { message: string }).message).toContain('did not open the session');
  });
});
