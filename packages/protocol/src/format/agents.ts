import type { AgentView } from '../api/agents.js';
import { formatLabels, formatNumber, formatTimestamp, truncate } from './text.js';
import type { Listing } from './tasks.js';

/** `online, drained`: the status, `not ready` for an online agent that takes no work, and whether new tasks may go to it. */
export function agentStatus(agent: AgentView): string {
  const status = agent.status === 'online' && agent.ready === false ? 'not ready' : agent.status;
  return agent.drained ? `${status}, drained` : status;
}

/** `0.5/4` of a resource (or `-` where the token may not see it); `*` marks a capacity an admin set. */
export function agentUse(agent: AgentView, key: 'cpu' | 'memoryGb'): string {
  if (!agent.capacity || !agent.allocated) return '-';
  return `${formatNumber(agent.allocated[key])}/${formatNumber(agent.capacity[key])}${agent.capacitySet ? '*' : ''}`;
}

/** `tapit list agents`'s columns. */
export function agentListing(agents: readonly AgentView[]): Listing {
  return {
    headers: ['NAME', 'STATUS', 'VERSION', 'CPU', 'MEMORY GB', 'TASKS', 'LABELS', 'LAST SEEN', 'NOT READY BECAUSE'],
    rows: agents.map((a) => [
      a.name,
      agentStatus(a),
      a.version ?? '-',
      agentUse(a, 'cpu'),
      agentUse(a, 'memoryGb'),
      a.runningTasks === undefined ? '-' : String(a.runningTasks),
      truncate(formatLabels(a.labels), 40) || '-',
      formatTimestamp(a.lastSeenAt),
      a.notReadyReason ?? '-',
    ]),
  };
}
