import { z } from 'zod';
import { Name, Timestamp } from '../common/ids.js';
import { Capacity } from '../common/resources.js';

export const AgentView = z.object({
  name: Name,
  status: z.enum(['online', 'offline']),
  /** Online and taking work; false while offline or not ready. */
  ready: z.boolean(),
  /** Why an online agent takes no work (e.g. its Docker engine is unreachable); null otherwise. */
  notReadyReason: z.string().nullable(),
  capacity: Capacity,
  /** CPU and memory held by the agent's active tasks. */
  allocated: Capacity.extend({ cpu: z.number().nonnegative(), memoryGb: z.number().nonnegative() }),
  runningTasks: z.number().int().nonnegative(),
  version: z.string().nullable(),
  lastSeenAt: Timestamp,
  connectedAt: Timestamp.nullable(),
});
export type AgentView = z.infer<typeof AgentView>;

export const AgentList = z.object({ items: z.array(AgentView) });
