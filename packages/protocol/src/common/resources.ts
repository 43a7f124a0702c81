import { z } from 'zod';

/** Bounds shared by the API, the CLI and the agent's re-validation. */
export const RESOURCE_LIMITS = {
  cpu: { min: 0.01, max: 64 },
  memoryGb: { min: 0.004, max: 1024 },
  maxHours: { min: 0.0001, max: 8760 },
  ephemeralStorageGb: { min: 0.001, max: 10240 },
} as const;

const bounded = (key: keyof typeof RESOURCE_LIMITS, unit: string) => {
  const { min, max } = RESOURCE_LIMITS[key];
  return z
    .number({ error: `must be a number of ${unit} from ${min} to ${max}` })
    .min(min, `must be at least ${min} ${unit}`)
    .max(max, `must be at most ${max} ${unit}`);
};

export const Cpu = bounded('cpu', 'vCPUs');
export const MemoryGb = bounded('memoryGb', 'GB');
export const MaxHours = bounded('maxHours', 'hours');
export const EphemeralStorageGb = bounded('ephemeralStorageGb', 'GB');

/** The resources a task runs with, fully resolved (app defaults plus overrides). */
export const TaskResources = z.object({
  cpu: Cpu,
  memoryGb: MemoryGb,
  maxHours: MaxHours.nullable(),
  ephemeralStorageGb: EphemeralStorageGb.nullable(),
});
export type TaskResources = z.infer<typeof TaskResources>;

/** An app's defaults for its tasks (PRODUCT.md: 0.25 vCPU, 0.5 GB, no time limit). */
export const DEFAULT_TASK_RESOURCES = { cpu: 0.25, memoryGb: 0.5, maxHours: null } as const;

/** Interactive consoles default to SetOps' 24 hours. */
export const DEFAULT_INTERACTIVE_MAX_HOURS = 24;

/**
 * Bounds of what one agent can offer: the largest hosts sold today, with room. An agent
 * claiming more (a forged hello) would draw every project's tasks to itself.
 */
export const AGENT_CAPACITY_LIMITS = {
  cpu: { max: 1024 },
  memoryGb: { max: 16384 },
} as const;

/** What an agent offers for placement. */
export const Capacity = z.object({
  cpu: z
    .number({ error: `must be a number of vCPUs up to ${AGENT_CAPACITY_LIMITS.cpu.max}` })
    .positive('must be positive')
    .max(AGENT_CAPACITY_LIMITS.cpu.max, `must be at most ${AGENT_CAPACITY_LIMITS.cpu.max} vCPUs`),
  memoryGb: z
    .number({ error: `must be a number of GB up to ${AGENT_CAPACITY_LIMITS.memoryGb.max}` })
    .positive('must be positive')
    .max(AGENT_CAPACITY_LIMITS.memoryGb.max, `must be at most ${AGENT_CAPACITY_LIMITS.memoryGb.max} GB`),
  /** Tasks the agent runs at once at most (each holds a share of the host's process ids). */
  maxTasks: z.number().int().positive().optional(),
});
export type Capacity = z.infer<typeof Capacity>;

/** What a finished task used, measured by the agent. */
export const ResourceUsage = z.object({
  peakMemoryBytes: z.number().int().nonnegative().nullable(),
  cpuSeconds: z.number().nonnegative().nullable(),
  diskBytes: z.number().int().nonnegative().nullable(),
});
export type ResourceUsage = z.infer<typeof ResourceUsage>;
