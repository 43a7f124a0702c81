import { z } from 'zod';
import { Name, Timestamp } from '../common/ids.js';
import { Labels } from '../common/labels.js';
import { AGENT_CAPACITY_LIMITS, Capacity } from '../common/resources.js';

/** online: connected; offline: not connected (its tasks wait out the lost grace); revoked: shut out by an admin. */
export const AgentStatus = z.enum(['online', 'offline', 'revoked']);
export type AgentStatus = z.infer<typeof AgentStatus>;

/**
 * An agent as listed. A token limited to one project sees only the agents running its tasks,
 * and only the fields up to `connectedAt`; readiness, capacity, use and counts are for tokens of
 * all projects.
 */
export const AgentView = z.object({
  name: Name,
  status: AgentStatus,
  labels: Labels,
  version: z.string().nullable(),
  lastSeenAt: Timestamp,
  connectedAt: Timestamp.nullable(),
  /** Online and taking work; false while offline or not ready. */
  ready: z.boolean().optional(),
  /** Why an online agent takes no work (e.g. its Docker engine is unreachable); null otherwise. */
  notReadyReason: z.string().nullable().optional(),
  /** No new tasks are placed on a drained agent; its running tasks go on. */
  drained: z.boolean().optional(),
  /** What placement uses: the capacity an admin set, or else what the agent offers. */
  capacity: Capacity.optional(),
  /** Whether `capacity` was set by an admin (`tapit update agent`) rather than offered by the agent. */
  capacitySet: z.boolean().optional(),
  /** CPU and memory held by the agent's active tasks. */
  allocated: Capacity.extend({ cpu: z.number().nonnegative(), memoryGb: z.number().nonnegative() }).optional(),
  runningTasks: z.number().int().nonnegative().optional(),
});
export type AgentView = z.infer<typeof AgentView>;

export const AgentList = z.object({ items: z.array(AgentView) });

const setCpu = z
  .number({ error: `must be a number of vCPUs up to ${AGENT_CAPACITY_LIMITS.cpu.max}, or null for what the agent offers` })
  .positive('must be positive')
  .max(AGENT_CAPACITY_LIMITS.cpu.max, `must be at most ${AGENT_CAPACITY_LIMITS.cpu.max} vCPUs`);
const setMemory = z
  .number({ error: `must be a number of GB up to ${AGENT_CAPACITY_LIMITS.memoryGb.max}, or null for what the agent offers` })
  .positive('must be positive')
  .max(AGENT_CAPACITY_LIMITS.memoryGb.max, `must be at most ${AGENT_CAPACITY_LIMITS.memoryGb.max} GB`);

/** An admin's change to an agent (`tapit update agent`, `drain agent`, `undrain agent`). */
export const UpdateAgentRequest = z
  .strictObject({
    /** vCPUs placement may use on it; null goes back to what the agent offers. */
    cpu: setCpu.nullable().optional(),
    /** GB of memory placement may use on it; null goes back to what the agent offers. */
    memoryGb: setMemory.nullable().optional(),
    drained: z.boolean().optional(),
  })
  .refine((r) => r.cpu !== undefined || r.memoryGb !== undefined || r.drained !== undefined, {
    message: 'give at least one of cpu, memoryGb, drained',
  });
export type UpdateAgentRequest = z.infer<typeof UpdateAgentRequest>;
