import type { LogFollowEvent, Task } from '@tapit/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { readUntil } from '../testing/eventually.js';
import { ProtocolAgent } from '../testing/protocol-agent.js';
import { ADMIN_TOKEN, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { JOIN_TOKEN, startTestScheduler } from '../testing/test-scheduler.js';
import { lostAfterSeconds } from './cut-off.js';

// An agent cut off past the grace period (cut-off.ts): it is told to stop its tasks itself, the
// scheduler declares them AGENT_LOST only once they must have stopped, with the silence as it
// was, and keeps the agent's late report; log followers wait for it.

const now = () => new Date().toISOString();
const usage = { peakMemoryBytes: 1048576, cpuSeconds: 0.5, diskBytes: 4096 };
const GRACE = { TAPIT_HEARTBEAT_INTERVAL_MS: '200', TAPIT_AGENT_LOST_GRACE_SECONDS: '1' };

/** Reads a follow stream's events as they come. */
function follow(url: string, taskId: string) {
  const events: LogFollowEvent[] = [];
  let ended = false;
  const done = (async () => {
    const response = await fetch(`${url}/v1/tasks/${taskId}/logs/follow`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    let buffer = '';
    for await (const chunk of response.body!) {
      buffer += Buffer.from(chunk).toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as LogFollowEvent);
    }
    ended = true;
  })();
  return { events, done, get ended() { return ended; } };
}

describe('agents cut off past the grace period', () => {
  let database: TestDatabase;
  let scheduler: Awaited<ReturnType<typeof startTestScheduler>>;
  afterEach(async () => {
    await scheduler.close();
    await database.drop();
  });
  const boot = async (env: Record<string, string>) => {
    database = await createTestDatabase('postgres', { migrated: false });
    scheduler = await startTestScheduler(database, env);
    await scheduler.call('POST', APP_PATH, { name: 'web', image: 'web:1' });
  };
  const getTask = async (id: string) => (await scheduler.call('GET', `/v1/tasks/${id}`)).body as Task;
  const logTexts = async (id: string) =>
    ((await scheduler.call('GET', `/v1/tasks/${id}/logs`)).body.lines as { text: string; stream: string }[]).map((l) => `${l.stream}:${l.text}`);

  it('tells agents in the welcome to stop their tasks once cut off for the grace period', async () => {
    await boot({ TAPIT_AGENT_LOST_GRACE_SECONDS: '30' });
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    const welcome = await agent.hello('alpha');
    expect(welcome.stopWhenCutOff).toEqual({ afterSeconds: 30, stopGraceSeconds: 10 });
    agent.close();
  });

  it('declares AGENT_LOST only once the agent must have stopped the task, tells the real silence, and keeps the late report', async () => {
    await boot(GRACE);
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('cut');
    const task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000' })).body as Task;
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    agent.send({ type: 'task.log', taskId: task.id, seq: 1, lines: [{ stream: 'stdout', text: 'line 1', at: now() }] });
    await agent.next('task.log.ack');
    const follower = follow(scheduler.url, task.id);
    agent.socket.terminate(); // cut off: nothing more from it

    const lost = await readUntil(() => getTask(task.id), (t) => t.status === 'STOPPED', 15_000);
    expect(lost).toMatchObject({ stopCode: 'AGENT_LOST', exitCode: null });
    // Declared past the whole bound (grace, stop grace, a heartbeat interval, margin), and says so.
    const silence = Number(/not heard from for (\d+) s$/.exec(lost.stopReason ?? '')?.[1]);
    expect(silence, lost.stopReason ?? '').toBeGreaterThanOrEqual(Math.floor(lostAfterSeconds(1, 200)));
    expect(await logTexts(task.id)).toContain('system:Waiting up to 60 s for agent cut to return with the rest of the log and the exit code');

    // The follower saw the status change but stays: the log is not complete.
    await readUntil(async () => follower.events, (events) => events.some((e) => e.type === 'status' && e.status === 'STOPPED'), 15_000);
    await new Promise((r) => setTimeout(r, 700));
    expect(follower.ended).toBe(false);
    expect((await scheduler.call('GET', `/v1/tasks/${task.id}/logs`)).body.complete).toBe(false);

    // Back, holding the task it stopped: told to drop it, it sends the rest and its exit.
    const back = await ProtocolAgent.connect(scheduler.url, agent.credential, { credential: agent.credential });
    const welcome = await back.hello('cut', { tasks: [{ taskId: task.id, lastSeq: 2, state: 'exited' }] });
    expect(welcome.drop).toEqual([task.id]);
    expect(welcome.acks).toEqual([{ taskId: task.id, seq: 1 }]);
    back.send({ type: 'task.log', taskId: task.id, seq: 2, lines: [{ stream: 'stdout', text: 'line 2', at: now() }] });
    expect((await back.next('task.log.ack')).seq).toBe(2);
    const exit = { type: 'task.exited', taskId: task.id, stopCode: 'AGENT_LOST', exitCode: 143, reason: 'cut off', usage, startedAt: now(), finishedAt: now(), lastSeq: 2 } as const;
    back.send(exit);
    await back.next('task.log.ack');
    back.send(exit); // said twice: kept once
    await back.next('task.log.ack');
    await follower.done;
    expect(follower.events.at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: 143 });
    expect(follower.events.filter((e) => e.type === 'line' && e.line.stream === 'stdout').map((e) => e.type === 'line' && e.line.text)).toEqual(['line 1', 'line 2']);

    // One final state, as declared, with the real exit code and usage recorded.
    expect(await getTask(task.id)).toMatchObject({ status: 'STOPPED', stopCode: 'AGENT_LOST', stopReason: lost.stopReason, finishedAt: lost.finishedAt, exitCode: 143, usage });
    const texts = await logTexts(task.id);
    expect(texts.filter((t) => t.startsWith('system:Task status is STOPPED'))).toHaveLength(1);
    expect(texts.filter((t) => t.startsWith('system:Late report from agent cut: exit code 143 (AGENT_LOST - cut off)'))).toHaveLength(1);
    expect((await scheduler.call('GET', `/v1/tasks/${task.id}/logs`)).body.complete).toBe(true);
    back.close();
  });

  it('a follower of a lost task ends without the late report once the wait is over', async () => {
    await boot(GRACE);
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('gone');
    const task = (await scheduler.call('POST', `${APP_PATH}/web/tasks`, { command: 'sleep 1000' })).body as Task;
    await agent.next('task.assign');
    agent.send({ type: 'task.status', taskId: task.id, status: 'RUNNING', at: now() });
    await readUntil(() => getTask(task.id), (t) => t.status === 'RUNNING', 15_000);
    agent.socket.terminate();
    await readUntil(() => getTask(task.id), (t) => t.status === 'STOPPED', 15_000);
    const follower = follow(scheduler.url, task.id);
    await new Promise((r) => setTimeout(r, 700));
    expect(follower.ended).toBe(false);
    // As if the minute had passed.
    await database.db.updateTable('tasks').set({ late_report_until: new Date(Date.now() - 1000) }).where('id', '=', task.id).execute();
    await follower.done;
    expect(follower.events.at(-1)).toEqual({ type: 'end', status: 'STOPPED', exitCode: null });
  });

  it('records when an agent was last heard, not when its silence was noticed', async () => {
    await boot({ TAPIT_HEARTBEAT_INTERVAL_MS: '1000', TAPIT_AGENT_LOST_GRACE_SECONDS: '60' });
    const agent = await ProtocolAgent.connect(scheduler.url, JOIN_TOKEN);
    await agent.hello('mute');
    const heard = Date.now();
    agent.socket.pause(); // no pongs, no frames: closed after three intervals
    const agents = await readUntil(async () => (await scheduler.call('GET', '/v1/agents')).body.items, (items) => items[0].status === 'offline', 15_000);
    // Closed about three seconds later; last seen when it was last heard (within a ping interval).
    expect(Date.parse(agents[0].lastSeenAt) - heard).toBeLessThan(2000);
    agent.socket.terminate();
  });
});
