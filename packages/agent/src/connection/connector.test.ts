import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type RunningAgent } from '../agent.js';
import { ConfigError, type AgentConfig } from '../config.js';
import { agentConfig, testRunId } from '../testing/docker-fixtures.js';
import { FakeScheduler, waitFor, type FakeSchedulerOptions } from '../testing/fake-scheduler.js';

const runId = testRunId();
let scheduler: FakeScheduler | null = null;
const agents: RunningAgent[] = [];

async function start(options: FakeSchedulerOptions, overrides: Partial<AgentConfig> = {}) {
  scheduler = new FakeScheduler({ heartbeatIntervalMs: 500, ...options });
  const config = agentConfig(await scheduler.listen(), runId, overrides);
  agents.push(await startAgent(config));
  return { s: scheduler, config };
}

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.stop();
  await scheduler?.close();
  scheduler = null;
});

describe('agent identity on the connection', () => {
  it('registers its own credential with the join token at first contact, then connects with the credential only', async () => {
    const { s, config } = await start({}, { labels: { region: 'eu', gpu: 'true' } });
    await waitFor('hello', () => s.hellos.length === 1);
    const credential = s.hellos[0]!.credential!;
    expect(s.authHeaders).toEqual(['Bearer test-token']);
    expect(s.hellos[0]!.labels).toEqual({ region: 'eu', gpu: 'true' });
    // The link drops: the next connection opens with the credential and sends none in hello.
    s.socket!.terminate();
    await waitFor('second hello', () => s.hellos.length === 2, 15_000);
    expect(s.authHeaders[1]).toBe(`Bearer ${credential}`);
    expect(s.hellos[1]!.credential).toBeUndefined();
    // Restarted on the same state folder, without the join token: it still gets in.
    await agents.pop()!.stop();
    agents.push(await startAgent({ ...config, token: undefined }));
    await waitFor('third hello', () => s.hellos.length === 3, 15_000);
    expect(s.authHeaders[2]).toBe(`Bearer ${credential}`);
  });

  it('joins again with the join token and the same credential when the scheduler does not know the credential', async () => {
    // As after an admin deleted the agent: the scheduler knows only the join token.
    const { s } = await start({ unauthorized: (auth) => auth !== 'Bearer test-token' });
    await waitFor('hello', () => s.hellos.length === 1);
    const credential = s.hellos[0]!.credential!;
    s.socket!.terminate();
    await waitFor('joined again', () => s.hellos.length === 2, 15_000);
    expect(s.authHeaders.slice(1)).toEqual([`Bearer ${credential}`, 'Bearer test-token']);
    expect(s.hellos[1]!.credential).toBe(credential);
  });

  it('joined, but its welcome was lost and the join token is now used up: it comes in with its own credential', async () => {
    // The join's hello reaches the scheduler, which binds the credential and counts the token's
    // one use; its welcome is lost. From then on the token is refused.
    let joined = false;
    const lostOnce = () => !joined && (joined = true);
    scheduler = new FakeScheduler({ heartbeatIntervalMs: 500, loseWelcome: lostOnce, unauthorized: (auth) => joined && auth === 'Bearer test-token' });
    agents.push(await startAgent(agentConfig(await scheduler.listen(), runId)));
    const s = scheduler;
    await waitFor('welcomed with its credential', () => s.hellos.length === 2, 20_000);
    const credential = s.hellos[0]!.credential!;
    expect(s.authHeaders).toEqual(['Bearer test-token', 'Bearer test-token', `Bearer ${credential}`]);
    expect(s.hellos[1]!.credential).toBeUndefined();
  });

  it('refused its name, keeps trying with backoff instead of exiting', async () => {
    const { s } = await start({ refuse: 'NAME_IN_USE' });
    await waitFor('retries', () => s.connections >= 3, 20_000);
    // Never welcomed: it keeps presenting the join token with its own credential.
    expect(new Set(s.authHeaders)).toEqual(new Set(['Bearer test-token']));
    expect(new Set(s.hellos.map((h) => h.credential)).size).toBe(1);
  });

  it('will not start without a join token until its credential is registered', async () => {
    scheduler = new FakeScheduler();
    const config = agentConfig(await scheduler.listen(), runId, { token: undefined });
    await expect(startAgent(config)).rejects.toThrow(ConfigError);
    await expect(startAgent(config)).rejects.toThrow(/TAPIT_AGENT_TOKEN: is required to join/);
  });
});
