// Simulated agents: the real agent protocol (packages/protocol's frames, JSON over the real
// websocket at /v1/agents/connect) without Docker, many per process. Each joins with a join token
// and a credential of its own, heartbeats, accepts every `task.assign`, reports it RUNNING and,
// after `runMs`, EXITED with the exit code its command asks for (`exit N` in its last word, else
// 0); a `task.stop` ends a task as the real agent reports it. Used by bench/scale.mjs and by
// test/e2e/sim-agents.test.ts, which checks it against a real scheduler on real Postgres, so the
// benchmark measures real placement.
//
// Plain JavaScript (ESM) so that both `node bench/…` and the TypeScript tests import it as it is.
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';

/** What the protocol calls version 1 (packages/protocol/src/version.ts). */
const PROTOCOL_VERSION = 1;
const AGENT_PATH = '/v1/agents/connect';

/** The exit code a task's command asks for: `sh -c 'exit 3'` → 3; anything else → 0. */
export function exitCodeOf(command) {
  const last = command?.[command.length - 1] ?? '';
  const match = /(?:^|[;&|\s])exit\s+(\d{1,3})\s*$/.exec(last);
  return match ? Number(match[1]) % 256 : 0;
}

/**
 * One simulated agent. `events` (optional) hears `welcome`, `assign`, `accepted`, `exited`,
 * `closed` with the agent and the frame or task id.
 */
export class SimAgent {
  /**
   * @param {object} options
   * @param {string} options.url the scheduler's http(s) URL
   * @param {string} options.joinToken a join token (TAPIT_AGENT_JOIN_TOKEN or one made through the API)
   * @param {string} options.name the agent's name
   * @param {{cpu: number, memoryGb: number, maxTasks?: number}} [options.capacity]
   * @param {boolean} [options.ready] readiness in its hello (default true)
   * @param {number} [options.runMs] how long each task "runs" before it exits (default 0; Infinity: until stopped)
   * @param {(event: string, agent: SimAgent, detail?: unknown) => void} [options.events]
   */
  constructor(options) {
    this.options = options;
    this.name = options.name;
    this.credential = randomBytes(24).toString('base64url');
    this.capacity = options.capacity ?? { cpu: 4, memoryGb: 8 };
    this.ready = options.ready ?? true;
    /** taskId → { spec, acceptedAt, timer } of the tasks it holds. */
    this.tasks = new Map();
    /** Every task id assigned to it, in order. */
    this.assigned = [];
    this.welcomed = false;
    this.refused = null;
    this.heartbeatIntervalMs = 5000;
    this.socket = null;
  }

  /** Connects and resolves once welcomed (rejects when refused or closed first). */
  connect() {
    const ws = new WebSocket(this.options.url.replace(/^http/, 'ws') + AGENT_PATH, {
      headers: { Authorization: `Bearer ${this.welcomedOnce ? this.credential : this.options.joinToken}` },
      perMessageDeflate: false,
    });
    this.socket = ws;
    return new Promise((resolve, reject) => {
      ws.on('open', () => {
        this.send({
          type: 'hello',
          protocolVersion: PROTOCOL_VERSION,
          agentName: this.name,
          agentVersion: 'sim-agent',
          capacity: this.capacity,
          tasks: [...this.tasks.keys()].map((taskId) => ({ taskId, lastSeq: 0, state: 'running' })),
          readiness: this.ready ? { ready: true, reason: null } : { ready: false, reason: 'simulated: not ready yet' },
          heartbeatAcks: false,
          ...(this.welcomedOnce ? {} : { credential: this.credential }),
        });
      });
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString());
        if (frame.type === 'welcome') {
          this.welcomed = this.welcomedOnce = true;
          this.heartbeatIntervalMs = frame.heartbeatIntervalMs;
          this.options.events?.('welcome', this, frame);
          resolve(this);
          return;
        }
        this.receive(frame);
      });
      ws.on('unexpected-response', (_req, res) => {
        ws.terminate();
        reject(new Error(`agent ${this.name}: connection refused with HTTP ${res.statusCode}`));
      });
      ws.on('error', (error) => reject(new Error(`agent ${this.name}: ${error.message}`)));
      ws.on('close', (code, reason) => {
        this.welcomed = false;
        for (const task of this.tasks.values()) clearTimeout(task.timer);
        this.options.events?.('closed', this, { code, reason: reason.toString() });
        reject(new Error(`agent ${this.name}: closed ${code} ${reason.toString()}${this.refused ? ` (${this.refused.code}: ${this.refused.message})` : ''}`));
      });
    });
  }

  send(frame) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  /** A heartbeat now (SimAgents sends them on one timer for all). */
  heartbeat() {
    if (this.welcomed) this.send({ type: 'heartbeat', at: new Date().toISOString(), readiness: this.ready ? { ready: true, reason: null } : { ready: false, reason: 'simulated: not ready yet' } });
  }

  /** Becomes ready (or not) and says so at once, as the real agent does when its engine comes back. */
  setReady(ready) {
    this.ready = ready;
    this.heartbeat();
  }

  receive(frame) {
    switch (frame.type) {
      case 'task.assign': {
        const spec = frame.task;
        this.assigned.push(spec.taskId);
        this.options.events?.('assign', this, spec);
        this.send({ type: 'task.accepted', taskId: spec.taskId });
        const task = { spec, acceptedAt: performance.now(), startedAt: new Date().toISOString(), timer: null };
        this.tasks.set(spec.taskId, task);
        this.options.events?.('accepted', this, spec.taskId);
        this.send({ type: 'task.status', taskId: spec.taskId, status: 'RUNNING', at: task.startedAt });
        const runMs = this.options.runMs ?? 0;
        if (Number.isFinite(runMs)) task.timer = setTimeout(() => this.exit(spec.taskId, 'EXITED', exitCodeOf(spec.command), null), runMs);
        return;
      }
      case 'task.stop':
        if (this.tasks.has(frame.taskId)) this.exit(frame.taskId, frame.stopCode, null, frame.reason);
        return;
      case 'refused':
        this.refused = frame;
        return;
      default:
        // heartbeat.ack, task.log.ack, task.env, console.open…: nothing to do for a simulated agent.
        return;
    }
  }

  /** Reports a task ended, as the agent does once its container is gone. */
  exit(taskId, stopCode, exitCode, reason) {
    const task = this.tasks.get(taskId);
    if (!task) return;
    clearTimeout(task.timer);
    this.tasks.delete(taskId);
    this.send({
      type: 'task.exited',
      taskId,
      stopCode,
      exitCode,
      reason,
      usage: { peakMemoryBytes: null, cpuSeconds: null, diskBytes: null },
      startedAt: task.startedAt,
      finishedAt: new Date().toISOString(),
      lastSeq: 0,
    });
    this.options.events?.('exited', this, taskId);
  }

  close() {
    const ws = this.socket;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      ws.once('close', resolve);
      ws.close(1000, 'simulated agent leaving');
    });
  }
}

/**
 * `count` simulated agents named `${prefix}-N`, connected `parallel` at a time (the scheduler
 * holds at most 64 unwelcomed connections). Heartbeats go out on one timer for all of them.
 * `options` as SimAgent's, less name.
 */
export async function startSimAgents({ count, prefix = `sim-${randomBytes(3).toString('hex')}`, parallel = 32, ...options }) {
  const agents = Array.from({ length: count }, (_, i) => new SimAgent({ ...options, name: `${prefix}-${i}` }));
  let next = 0;
  const worker = async () => {
    while (next < agents.length) await agents[next++].connect();
  };
  const closeAll = () => Promise.all(agents.map((a) => a.close()));
  try {
    await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  } catch (error) {
    await closeAll();
    throw error;
  }
  const intervalMs = agents[0]?.heartbeatIntervalMs ?? 5000;
  // Once an interval each, as the real agent, spread over it so that 10,000 agents do not beat in one burst.
  let turn = 0;
  const slices = 10;
  const timer = setInterval(() => {
    for (let i = turn; i < agents.length; i += slices) agents[i].heartbeat();
    turn = (turn + 1) % slices;
  }, Math.max(10, Math.floor(intervalMs / slices)));
  timer.unref();
  return {
    agents,
    /** Every task id accepted by any of them. */
    assigned: () => agents.flatMap((a) => a.assigned),
    setReady: (ready) => agents.forEach((a) => a.setReady(ready)),
    async close() {
      clearInterval(timer);
      await closeAll();
    },
  };
}
