import type { AgentReadiness, Capacity, SchedulerFrame } from '@tapit/protocol';
import type { WebSocket } from 'ws';

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

  constructor(
    readonly name: string,
    readonly capacity: Capacity,
    readonly socket: WebSocket,
    readiness?: AgentReadiness,
  ) {
    this.notReadyReason = notReadyReasonOf(readiness);
  }

  get ready(): boolean {
    return this.notReadyReason === null;
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
    return this.allocated.cpu + need.cpu <= this.capacity.cpu + 1e-9 && this.allocated.memoryGb + need.memoryGb <= this.capacity.memoryGb + 1e-9;
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
