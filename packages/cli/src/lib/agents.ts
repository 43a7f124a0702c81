import { AgentView, formatLabels, Name } from '@tapit/protocol';
import type { ApiClient } from './api-client.js';
import { z } from 'zod';
import { parseRequest } from './key-values.js';
import { agentStatus } from '@tapit/protocol/format';
import { formatNumber } from './output.js';

/** The one bare word of `tapit revoke|delete|drain|undrain agent NAME`. */
export function parseAgentName(argv: readonly string[]): string {
  return parseRequest(z.object({ name: Name }), argv, { keys: {}, positional: { field: 'name', name: 'agent name', required: true } }).name;
}

export const agentPath = (name: string) => `/v1/agents/${encodeURIComponent(name)}`;

export { agentStatus, agentUse } from '@tapit/protocol/format';

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
