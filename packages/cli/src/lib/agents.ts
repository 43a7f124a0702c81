import { AgentView, formatLabels, Name } from '@tapit/protocol';
import type { ApiClient } from './api-client.js';
import { z } from 'zod';
import { parseRequest } from './key-values.js';
import { formatNumber } from './output.js';

/** The one bare word of `tapit revoke|delete|drain|undrain agent NAME`. */
export function parseAgentName(argv: readonly string[]): string {
  return parseRequest(z.object({ name: Name }), argv, { keys: {}, positional: { field: 'name', name: 'agent name', required: true } }).name;
}

export const agentPath = (name: string) => `/v1/agents/${encodeURIComponent(name)}`;

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

/** One line about an agent after a change: `Agent host-a: online, drained; 2 vCPU, 8 GB; labels region=eu`. */
export function agentSummary(agent: AgentView): string {
  const capacity = agent.capacity ? `; ${formatNumber(agent.capacity.cpu)} vCPU, ${formatNumber(agent.capacity.memoryGb)} GB${agent.capacitySet ? ' (set by an admin)' : ''}` : '';
  const labels = Object.keys(agent.labels).length > 0 ? `; labels ${formatLabels(agent.labels)}` : '';
  return `Agent ${agent.name}: ${agentStatus(agent)}${capacity}${labels}`;
}

/** `tapit drain|undrain agent NAME`: the agent as the API shows it after the change. */
export async function setDrained(api: ApiClient, argv: readonly string[], drained: boolean): Promise<AgentView> {
  return api.patch(agentPath(parseAgentName(argv)), { drained }, AgentView);
}
