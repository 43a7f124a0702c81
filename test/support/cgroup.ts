import { hostCgroupVersion } from './docker.js';
import { appLines } from './system.js';

/** The host's cgroup version: containers see the same hierarchy. */
export const CGROUP = hostCgroupVersion();

/** A shell line that prints the container's own memory and CPU limits (`mem=…`, `cpu=QUOTA PERIOD`). */
export const READ_LIMITS =
  CGROUP === 2
    ? 'echo mem=$(cat /sys/fs/cgroup/memory.max); echo cpu=$(cat /sys/fs/cgroup/cpu.max)'
    : 'echo mem=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes); echo cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)';

/** Memory limit in bytes and CPU limit in vCPUs (quota / period) from a task's READ_LIMITS output. */
export function limitsFrom(stdout: string): { memoryBytes: number; cpus: number } {
  const lines = appLines(stdout);
  const mem = lines.find((l) => l.startsWith('mem='))?.slice(4) ?? '';
  const [quota, period] = (lines.find((l) => l.startsWith('cpu='))?.slice(4) ?? '').split(' ');
  return { memoryBytes: Number(mem), cpus: Number(quota) / Number(period) };
}

export const MIB = 1024 * 1024;
