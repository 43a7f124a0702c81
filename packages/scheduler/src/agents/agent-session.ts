import type { AgentReadiness, Capacity, Labels, SchedulerFrame } from '@tapit/protocol';
import type { WebSocket } from 'ws';

/** What an admin set on an agent (`tapit update agent`, `drain agent`), applied to its session. */
export interface AgentSettings {
  drained: boolean;
  capacityCpuSet: number | null;
  capacityMemoryGbSet: number | null;
}

/** One connected agent on this replica: its socket and what its tasks hold of its capacity. */
export class AgentSession {
  lastHeardAt = Date.now();
  /** The agent takes `heartbeat.ack` (hello.heartbeatAcks). */
  heartbeatAcks = false;
  readonly allocated: Capacity = { cpu: 0, memoryGb: 0 };
  /** Tasks this replica has assigned or seen on the agent and not yet seen finish. */
  readonly tasks = new Map<string, Capacity>();
  /** Why the agent takes no work now (its engine is away…); null when ready. Placement skips it. */
  notReadyReason: string | null;
  /** What placement may fill: an admin's capacity where set, else what the agent offers. */
  capacity: Capacity;
  /** A drained agent gets no new tasks; the ones it runs go on. */
  drained = false;
  /** Labels the agent carries (TAPIT_AGENT_LABELS); tasks requiring others do not go to it. */
  labels: Labels = {};
  /** Tasks placed on this name before then were another agent's (agents.bound_at); null: all are its own. */
  since: Date | null = null;
  /** The credential its name is bound to: a change (re-bound, revoked) ends this session. */
  credentialHash: string | null = null;

  constructor(
    readonly name: string,
    /** What the agent offered in its hello. */
    readonly offered: Capacity,
    readonly socket: WebSocket,
    readiness?: AgentReadiness,
  ) {
    this.capacity = { ...offered };
    this.notReadyReason = notReadyReasonOf(readiness);
  }

  get ready(): boolean {
    return this.notReadyReason === null;
  }

  apply(settings: AgentSettings): void {
    this.drained = settings.drained;
    // An admin sets CPU and memory; the tasks the host's process ids allow (maxTasks) stay the agent's.
    this.capacity = { ...this.offered, cpu: settings.capacityCpuSet ?? this.offered.cpu, memoryGb: settings.capacityMemoryGbSet ?? this.offered.memoryGb };
  }

  send(frame: SchedulerFrame): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  ping(): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.ping();
  }

  terminate(): void {
    this.socket.terminate();
  }

  /** Whether a task of this size fits beside what the agent holds now. */
  fits(need: Capacity): boolean {
    // A small epsilon: sums of fractions like 0.1 must not refuse an exact fit.
    return this.hasRoomForATask() && this.allocated.cpu + need.cpu <= this.capacity.cpu + 1e-9 && this.allocated.memoryGb + need.memoryGb <= this.capacity.memoryGb + 1e-9;
  }

  /** Below its maxTasks (the tasks its host's process ids allow at once), if it gave one. */
  hasRoomForATask(): boolean {
    return this.capacity.maxTasks === undefined || this.tasks.size < this.capacity.maxTasks;
  }

  hold(taskId: string, need: Capacity): void {
    if (this.tasks.has(taskId)) return;
    this.tasks.set(taskId, need);
    this.allocated.cpu += need.cpu;
    this.allocated.memoryGb += need.memoryGb;
  }

  release(taskId: string): void {
    const need = this.tasks.get(taskId);
    if (!need) return;
    this.tasks.delete(taskId);
    this.allocated.cpu -= need.cpu;
    this.allocated.memoryGb -= need.memoryGb;
  }

  /** Free memory, for spreading tasks over agents. */
  freeMemoryGb(): number {
    return this.capacity.memoryGb - this.allocated.memoryGb;
  }
}

/** What an agent's readiness (absent from agents before it: ready) means for placement. */
export function notReadyReasonOf(readiness: AgentReadiness | undefined): string | null {
  if (!readiness || readiness.ready) return null;
  return readiness.reason ?? 'not ready';
}
