import { enableMetrics } from './metrics/agent-metrics.js';
import { serveMetrics } from './metrics/metrics-server.js';
import { timedDriver } from './metrics/timed-driver.js';
import { AGENT_CAPACITY_LIMITS, PROTOCOL_VERSION, type AgentReadiness, type Capacity } from '@tapit/protocol';
import { ConfigError, consoleUrlFor, copyUrlFor, type AgentConfig } from './config.js';
import { CredentialStore } from './identity/credential-store.js';
import { Consoles } from './consoles/consoles.js';
import { Copies } from './copies/copies.js';
import { KeptContainers } from './tasks/kept-containers.js';
import { Connector } from './connection/connector.js';
import { CutOffWatch } from './connection/cut-off-watch.js';
import { SchedulerClock } from './connection/scheduler-clock.js';
import { DockerDriver } from './drivers/docker/docker-driver.js';
import type { TaskDriver } from './drivers/driver.js';
import { errorMessage, log } from './log.js';
import { Backoff } from './connection/backoff.js';
import { HandleStore } from './tasks/handle-store.js';
import { TaskRunner } from './tasks/runner.js';
import { AGENT_VERSION } from './version.js';

async function untilReachable(driver: TaskDriver): Promise<void> {
  const backoff = new Backoff(500, 10_000);
  for (;;) {
    try {
      await driver.capacity();
      return;
    } catch (error) {
      // A driver that watches its engine says when it is back; else ask again after a backoff.
      if (driver.health && (await driver.health.check()) !== null) {
        await driver.health.reachable();
        continue;
      }
      const delay = backoff.next();
      log('engine.unreachable', { driver: driver.name, error: errorMessage(error), retryInMs: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

export interface RunningAgent {
  /** Resolves with the exit code once the agent has stopped. */
  done: Promise<number>;
  /** Finishes reporting and disconnects; containers keep running for the next start. */
  stop(): Promise<void>;
}

/** A host bigger than the scheduler accepts offers what it accepts (a bigger hello would be refused). */
export function boundedCapacity(capacity: Capacity): Capacity {
  return { ...capacity, cpu: Math.min(capacity.cpu, AGENT_CAPACITY_LIMITS.cpu.max), memoryGb: Math.min(capacity.memoryGb, AGENT_CAPACITY_LIMITS.memoryGb.max) };
}

/** Wires driver, handle store, runner and connection; used by main() and by tests in-process. */
export async function startAgent(config: AgentConfig, driver?: TaskDriver): Promise<RunningAgent> {
  const credentials = new CredentialStore(config.stateDir, config.name, (why) => log('agent.new-credential', { name: config.name, why }));
  if (!credentials.registered && config.token === undefined) {
    throw new ConfigError(`TAPIT_AGENT_TOKEN: is required to join (a join token): ${config.stateDir} holds no registered credential of agent ${config.name} yet`);
  }
  const taskDriver = timedDriver(
    driver ??
      new DockerDriver({ agentName: config.name, network: config.network, cpu: config.cpu, memoryGb: config.memoryGb, engineCheckMs: config.engineCheckMs, pidsPerTask: config.pidsPerTask }),
  );
  const health = taskDriver.health;
  const store = new HandleStore(config.stateDir);
  const clock = new SchedulerClock();
  const kept = new KeptContainers(config.stateDir, taskDriver);
  const runner = new TaskRunner({ driver: taskDriver, store, clock, kept, stopGraceSeconds: config.stopGraceSeconds, storageCheckMs: config.storageCheckMs, spoolMemoryBytes: config.spoolMemoryBytes, consoleGraceSeconds: config.consoleGraceSeconds, engineWaitSeconds: config.engineWaitSeconds });
  runner.load();
  const metricsServer = config.metricsListen
    ? await serveMetrics(await enableMetrics({ tasksByState: () => runner.countByState(), spoolBytes: () => runner.spoolBytes() }), config.metricsListen)
    : null;
  if (config.metricsListen) log('metrics.listening', { url: `http://${config.metricsListen.host.includes(':') ? `[${config.metricsListen.host}]` : config.metricsListen.host}:${config.metricsListen.port}/metrics` });
  let recovered = false;
  // Offers no capacity while its engine is away, or before it has found its containers again.
  const readiness = (): AgentReadiness => {
    const cause = health?.unreachable ?? null;
    if (cause !== null) return { ready: false, reason: `${health!.name} unreachable: ${cause}` };
    return recovered ? { ready: true, reason: null } : { ready: false, reason: 'recovering its tasks' };
  };
  // Before the engine ever answered there is no capacity to tell: the configured one, or a token.
  const fallbackCapacity: Capacity = { cpu: config.cpu ?? 1, memoryGb: config.memoryGb ?? 1 };
  const cutOff = new CutOffWatch((silentSeconds, policy) => {
    log('agent.cut-off', { silentSeconds, stopTasksAfterSeconds: policy.afterSeconds });
    runner.stopAll('AGENT_LOST', `its agent was cut off from the scheduler for ${silentSeconds} s and stopped it, so it would not run unseen`, policy.stopGraceSeconds);
  });
  // Console dial-backs open with the agent's own credential: the scheduler takes no other.
  // Copies dial back with the agent's own credential, as consoles do; from a task held or a container kept.
  const copies = new Copies({
    driver: taskDriver,
    handleOf: (taskId) => runner.get(taskId)?.handle ?? kept.handleOf(taskId),
    urlFor: (copyId) => copyUrlFor(config.schedulerUrl, copyId),
    token: credentials.credential,
    ...(config.ca ? { ca: config.ca } : {}),
  });
  const consoles = new Consoles({ runner, urlFor: (sessionId) => consoleUrlFor(config.schedulerUrl, sessionId), token: credentials.credential, ca: config.ca, agentName: config.name, keepaliveMs: config.consoleKeepaliveMs });
  const connector = new Connector({
    url: config.connectUrl,
    name: config.name,
    credentials,
    joinToken: config.token,
    ca: config.ca,
    runner,
    readiness,
    clock,
    cutOff,
    onConsoleOpen: (frame) => consoles.open(frame),
    onCopy: (frame) => copies.open(frame),
    onRemove: (frame) => void kept.remove(frame.taskId, 'its task was deleted'),
    hello: async (credential) => ({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      agentName: config.name,
      agentVersion: AGENT_VERSION,
      capacity: boundedCapacity(await taskDriver.capacity().catch(() => fallbackCapacity)),
      tasks: runner.heldTasks(),
      readiness: readiness(),
      ...(recovered ? {} : { recovering: true }),
      heartbeatAcks: true,
      ...(credential === undefined ? {} : { credential }),
      ...(Object.keys(config.labels).length > 0 ? { labels: config.labels } : {}),
    }),
  });
  health?.onChange((cause) => {
    if (cause === null) log('engine.reachable', { driver: taskDriver.name });
    else log('engine.unreachable', { driver: taskDriver.name, error: cause });
    connector.heartbeatNow();
  });
  health?.start();
  // Recovery needs the engine: with it down, every container would look gone and be reported
  // lost. Meanwhile the agent still connects, to be seen not ready; then it dials again.
  const recovery = (async () => {
    await untilReachable(taskDriver);
    await runner.recover();
    kept.start();
    recovered = true;
    log('agent.recovered', { tasks: runner.heldTasks().length });
    connector.redialIfPresenceOnly();
  })();
  if (health === undefined || (await health.check()) === null) await recovery;
  let failed = false;
  recovery.catch((error) => {
    failed = true;
    log('agent.failed', { error: errorMessage(error) });
    void connector.stop();
  });
  log('agent.started', { name: config.name, scheduler: config.connectUrl, stateDir: config.stateDir, version: AGENT_VERSION, credential: credentials.registered ? 'registered' : 'to register' });
  const done = connector
    .run()
    .then((code) => (failed ? 1 : code))
    .finally(() => {
      health?.stop();
      cutOff.close();
      runner.close();
      kept.close();
      metricsServer?.close();
    });
  return {
    done,
    stop: async () => {
      await connector.stop();
      await done;
    },
  };
}
