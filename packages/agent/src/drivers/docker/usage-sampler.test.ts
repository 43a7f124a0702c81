import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { shmemBytes, UsageSampler } from './usage-sampler.js';

describe('shmemBytes', () => {
  it('takes shmem where the engine passes it (cgroup v2)', () => {
    expect(shmemBytes({ shmem: 8_388_608, total_active_anon: 1, total_inactive_anon: 1, total_rss: 0 })).toBe(8_388_608);
  });

  it('derives it on cgroup v1: tmpfs pages are the anonymous LRU pages that are not rss', () => {
    // A container after writing 8 MiB into a tmpfs, as Docker's v1 stats showed it.
    expect(shmemBytes({ total_active_anon: 4096, total_inactive_anon: 8_433_664, total_rss: 49_152 })).toBe(8_388_608);
    expect(shmemBytes({ total_active_anon: 0, total_inactive_anon: 4096, total_rss: 8192 })).toBe(0);
    expect(shmemBytes({})).toBeNull();
  });
});

describe('UsageSampler', () => {
  /** A line of the engine's stats stream (cgroup v1), read at `read`, with `tmpfs` bytes in its tmpfs mounts. */
  const sample = (read: string, tmpfs: number) =>
    JSON.stringify({
      read,
      memory_stats: { usage: 11_190_272, max_usage: 12_427_264, stats: { total_active_anon: 4096, total_inactive_anon: 49_152 + tmpfs, total_rss: 53_248 } },
      cpu_stats: { cpu_usage: { total_usage: 2e8 } },
    });

  it("reports the tmpfs bytes of the last sample read before the container finished, not one read as it was torn down (its tmpfs freed, its cgroup still there)", () => {
    const sampler = new UsageSampler({} as Docker.Container);
    sampler.sample(sample('2026-11-30T20:33:16.579070409Z', 10_444_800));
    sampler.sample(sample('2026-11-30T20:33:17.654077626Z', 10_444_800));
    // The processes are gone and their mounts with them; the cgroup, sampled once more, still holds cache pages.
    sampler.sample(sample('2026-11-30T20:33:19.101000000Z', 0));
    // While it runs, the limit is checked against the latest sample.
    expect(sampler.tmpfsBytes).toBe(0);
    expect(sampler.tmpfsBytesBefore(Date.parse('2026-11-30T20:33:19.050Z'))).toBe(10_444_800);
    // Unknown when no sample was read while it ran, never too little.
    expect(sampler.tmpfsBytesBefore(Date.parse('2026-11-30T20:33:16.000Z'))).toBeNull();
  });
});
