import { PROTOCOL_VERSION } from '@tapit/protocol';
import { consoleUrlFor, type AgentConfig } from './config.js';
import { Consoles } from './consoles/consoles.js';
import { Connector } from './connection/connector.js';
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

/** Wires driver, handle store, runner and connection; used by main() and by tests in-process. */
export async function startAgent(config: AgentConfig, driver?: TaskDriver): Promise<RunningAgent> {
  const taskDriver = driver ?? new DockerDriver({ agentName: config.name, network: config.network, cpu: config.cpu, memoryGb: config.memoryGb });
  const store = new HandleStore(config.stateDir);
  // Recovery needs the engine: with it down, every container would look gone and be reported lost.
  await untilReachable(taskDriver);
  const runner = new TaskRunner({ driver: taskDriver, store, stopGraceSeconds: config.stopGraceSeconds, storageCheckMs: config.storageCheckMs, spoolMemoryBytes: config.spoolMemoryBytes, consoleGraceSeconds: config.consoleGraceSeconds });
  await runner.recover();
  const consoles = new Consoles({ runner, urlFor: (sessionId) => consoleUrlFor(config.schedulerUrl, sessionId), token: config.token, agentName: config.name, keepaliveMs: config.consoleKeepaliveMs });
  const connector = new Connector({
    url: config.connectUrl,
    token: config.token,
    runner,
    onConsoleOpen: (frame) => consoles.open(frame),
    hello: async () => ({
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      agentName: config.name,
      agentVersion: AGENT_VERSION,
      capacity: await taskDriver.capacity(),
      tasks: runner.heldTasks(),
    }),
  });
  log('agent.started', { name: config.name, scheduler: config.connectUrl, stateDir: config.stateDir, version: AGENT_VERSION });
  const done = connector.run().finally(() => runner.close());
  return {
    done,
    stop: async () => {
      await connector.stop();
      await done;
    },
  };
}
