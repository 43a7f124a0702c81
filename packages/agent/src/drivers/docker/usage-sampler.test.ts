import { describe, expect, it } from 'vitest';
import { shmemBytes } from './usage-sampler.js';

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
