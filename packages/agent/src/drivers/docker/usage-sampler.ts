import type Docker from 'dockerode';

/** The memory.stat counters of the container's cgroup the engine passes on. */
interface MemoryStat {
  shmem?: number;
  total_shmem?: number;
  total_active_anon?: number;
  total_inactive_anon?: number;
  total_rss?: number;
}

/**
 * Bytes held in tmpfs (shared memory) by the cgroup. cgroup v2 engines pass `shmem` on; Docker's
 * cgroup v1 stats leave it out, but there tmpfs pages sit on the anonymous LRU lists beside the
 * processes' own memory (`rss`), so the difference is them (tasks get no swap).
 */
export function shmemBytes(stat: MemoryStat): number | null {
  const direct = stat.total_shmem ?? stat.shmem;
  if (typeof direct === 'number') return direct;
  const { total_active_anon: active, total_inactive_anon: inactive, total_rss: rss } = stat;
  if (typeof active !== 'number' || typeof inactive !== 'number' || typeof rss !== 'number') return null;
  return Math.max(0, active + inactive - rss);
}

/*
 * Samples the stats API while a container runs: its cgroup (cgroup v1 or v2) disappears with the
 * container, so peak memory and CPU time must be read before the end. Values stay null when no
 * sample arrived (a task that ended within a second); nothing is guessed.
 */
export class UsageSampler {
  peakMemoryBytes: number | null = null;
  cpuSeconds: number | null = null;
  /** Bytes in the container's tmpfs mounts (shared memory) at the last sample taken while it ran. */
  tmpfsBytes: number | null = null;
  private stream: NodeJS.ReadableStream | null = null;
  private stopped = false;

  constructor(private readonly container: Docker.Container) {}

  start(): void {
    this.container.stats({ stream: true }).then(
      (stream) => {
        if (this.stopped) return void (stream as unknown as { destroy?: () => void }).destroy?.();
        this.stream = stream;
        let buf = '';
        stream.on('data', (chunk: Buffer) => {
          buf += chunk.toString('utf8');
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            this.sample(buf.slice(0, nl));
            buf = buf.slice(nl + 1);
          }
        });
        stream.on('error', () => undefined);
      },
      () => undefined,
    );
  }

  stop(): void {
    this.stopped = true;
    (this.stream as unknown as { destroy?: () => void } | null)?.destroy?.();
  }

  private sample(line: string): void {
    let s: {
      memory_stats?: { usage?: number; max_usage?: number; stats?: MemoryStat };
      cpu_stats?: { cpu_usage?: { total_usage?: number } };
    };
    try {
      s = JSON.parse(line);
    } catch {
      return;
    }
    // max_usage exists on cgroup v1 only; on v2 the peak is the highest usage seen.
    const memory = Math.max(s.memory_stats?.max_usage ?? 0, s.memory_stats?.usage ?? 0);
    if (memory > 0) this.peakMemoryBytes = Math.max(this.peakMemoryBytes ?? 0, memory);
    const shmem = s.memory_stats?.stats ? shmemBytes(s.memory_stats.stats) : null;
    // The engine's last sample, as the container stops, reads an emptied cgroup: keep what the
    // task held while it ran (a running container always uses some memory).
    if (shmem !== null && memory > 0) this.tmpfsBytes = shmem;
    const cpuNs = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
    if (cpuNs > 0) this.cpuSeconds = Math.max(this.cpuSeconds ?? 0, cpuNs / 1e9);
  }
}
