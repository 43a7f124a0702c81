import { describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
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
  it('keeps the tmpfs bytes of the last sample while the task ran, not of the emptied cgroup as it stops (cgroup v1 keeps max_usage)', () => {
    const sampler = new UsageSampler({} as Docker.Container);
    const running = { usage: 12_000_000, max_usage: 12_500_000, stats: { total_active_anon: 4096, total_inactive_anon: 10_489_856, total_rss: 49_152 } };
    sampler.sample(JSON.stringify({ memory_stats: running, cpu_stats: { cpu_usage: { total_usage: 2e8 } } }));
    expect(sampler.tmpfsBytes).toBe(10_444_800);
    // As Docker's v1 stats read once the container stopped: nothing in use, the peak kept.
    const emptied = { usage: 0, max_usage: 12_500_000, stats: { total_active_anon: 0, total_inactive_anon: 0, total_rss: 0 } };
    sampler.sample(JSON.stringify({ memory_stats: emptied, cpu_stats: { cpu_usage: { total_usage: 2e8 } } }));
    expect(sampler.tmpfsBytes).toBe(10_444_800);
    expect(sampler.peakMemoryBytes).toBe(12_500_000);
  });
});
