import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { cpuUnitsToVcpus, mibToGb, parseEntrypoint } from './units.js';

describe('SetOps units', () => {
  it('converts CPU units to vCPUs (1024 per vCPU)', () => {
    expect(cpuUnitsToVcpus(1024)).toBe(1);
    expect(cpuUnitsToVcpus(256)).toBe(0.25);
    expect(cpuUnitsToVcpus(4096)).toBe(4);
  });

  it('converts MiB to GB (1024 MiB per GB)', () => {
    expect(mibToGb(512)).toBe(0.5);
    expect(mibToGb(2048)).toBe(2);
  });

  it('splits --entrypoint on commas and rejects empty parts', () => {
    expect(parseEntrypoint('/bin/bash,-c')).toEqual(['/bin/bash', '-c']);
    expect(parseEntrypoint('tini')).toEqual(['tini']);
    expect(() => parseEntrypoint('/bin/bash,,-c')).toThrow(UsageError);
    expect(() => parseEntrypoint('')).toThrow(/--entrypoint/);
  });
});
