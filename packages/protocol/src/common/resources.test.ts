import { describe, expect, it } from 'vitest';
import { rejectedFields } from '../testing/wire.js';
import {
  AGENT_CAPACITY_LIMITS,
  Capacity,
  Cpu,
  DEFAULT_INTERACTIVE_MAX_HOURS,
  DEFAULT_TASK_RESOURCES,
  EphemeralStorageGb,
  MaxHours,
  MemoryGb,
  RESOURCE_LIMITS,
  ResourceUsage,
  TaskResources,
} from './resources.js';

describe.each([
  ['cpu', Cpu, 'vCPUs'],
  ['memoryGb', MemoryGb, 'GB'],
  ['maxHours', MaxHours, 'hours'],
  ['ephemeralStorageGb', EphemeralStorageGb, 'GB'],
] as const)('%s', (key, schema, unit) => {
  const { min, max } = RESOURCE_LIMITS[key];

  it('accepts its bounds', () => {
    expect(schema.parse(min)).toBe(min);
    expect(schema.parse(max)).toBe(max);
  });

  it('refuses less than its minimum, saying the minimum and unit', () => {
    expect(schema.safeParse(min / 2).error?.issues[0]?.message).toBe(`must be at least ${min} ${unit}`);
    expect(schema.safeParse(0).success).toBe(false);
    expect(schema.safeParse(-1).success).toBe(false);
  });

  it('refuses more than its maximum, saying the maximum and unit', () => {
    expect(schema.safeParse(max * 1.5).error?.issues[0]?.message).toBe(`must be at most ${max} ${unit}`);
  });

  it.each(['1', null, true, Number.NaN, Number.POSITIVE_INFINITY])('refuses %j, saying the range', (value) => {
    const result = schema.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(new RegExp(`^must be (a number of ${unit} from ${min} to ${max}|at most)`));
  });
});

describe('TaskResources', () => {
  it('allows no time limit and no storage limit, but needs cpu and memory', () => {
    expect(TaskResources.safeParse({ cpu: 1, memoryGb: 1, maxHours: null, ephemeralStorageGb: null }).success).toBe(true);
    expect(rejectedFields(TaskResources, { cpu: null, memoryGb: 1, maxHours: null, ephemeralStorageGb: null })).toEqual(['cpu']);
    expect(rejectedFields(TaskResources, { cpu: 1, memoryGb: 1, ephemeralStorageGb: null })).toEqual(['maxHours']);
  });

  it('names every field out of range at once', () => {
    expect(rejectedFields(TaskResources, { cpu: 100, memoryGb: 2048, maxHours: 0, ephemeralStorageGb: 20000 })).toEqual([
      'cpu',
      'memoryGb',
      'maxHours',
      'ephemeralStorageGb',
    ]);
  });
});

describe('defaults', () => {
  it('are themselves valid resources (0.25 vCPU, 0.5 GB, no time limit)', () => {
    expect(TaskResources.parse({ ...DEFAULT_TASK_RESOURCES, ephemeralStorageGb: null })).toEqual({
      cpu: 0.25,
      memoryGb: 0.5,
      maxHours: null,
      ephemeralStorageGb: null,
    });
    expect(MaxHours.parse(DEFAULT_INTERACTIVE_MAX_HOURS)).toBe(24);
  });
});

describe('Capacity and ResourceUsage', () => {
  it('refuse an agent with nothing to offer and negative or fractional usage', () => {
    expect(rejectedFields(Capacity, { cpu: 0, memoryGb: 1 })).toEqual(['cpu']);
    expect(rejectedFields(ResourceUsage, { peakMemoryBytes: 1.5, cpuSeconds: -1, diskBytes: null })).toEqual([
      'peakMemoryBytes',
      'cpuSeconds',
    ]);
  });
});

describe('Capacity bounds', () => {
  it('accepts the largest host it allows', () => {
    expect(Capacity.parse({ cpu: AGENT_CAPACITY_LIMITS.cpu.max, memoryGb: AGENT_CAPACITY_LIMITS.memoryGb.max })).toBeTruthy();
  });

  it('refuses a capacity that would draw every task to one agent, naming the bound', () => {
    const result = Capacity.safeParse({ cpu: 1e6, memoryGb: 1e300 });
    expect(rejectedFields(Capacity, { cpu: 1e6, memoryGb: 1e300 })).toEqual(['cpu', 'memoryGb']);
    expect(result.error?.issues.map((i) => i.message)).toEqual(['must be at most 1024 vCPUs', 'must be at most 16384 GB']);
    expect(rejectedFields(Capacity, { cpu: Number.POSITIVE_INFINITY, memoryGb: 1 })).toEqual(['cpu']);
  });
});
