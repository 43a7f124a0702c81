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

/** Samples kept for the end's report: the engine samples about every second, a container's end takes a few. */
const KEPT_TMPFS_SAMPLES = 8;

/*
 * Samples the stats API while a container runs: its cgroup (cgroup v1 or v2) disappears with the
 * container, so peak memory and CPU time must be read before the end. Values stay null when no
 * sample arrived (a task that ended within a second); nothing is guessed.
 */
export class UsageSampler {
  peakMemoryBytes: number | null = null;
  cpuSeconds: number | null = null;
  /** Bytes in the container's tmpfs mounts (shared memory) at the latest sample. */
  tmpfsBytes: number | null = null;
  /** The latest few of them, with when the engine read them (its clock, ms): the end's report picks one. */
  private readonly tmpfsSamples: { readAt: number; bytes: number }[] = [];
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

  /**
   * The tmpfs bytes of the last sample the engine read before `finishedAt` (its clock, ms), or
   * null when none was. A sample read after the task's processes exited may see their mounts
   * freed while the cgroup still holds pages: it would report a full tmpfs as empty.
   */
  tmpfsBytesBefore(finishedAt: number): number | null {
    for (let i = this.tmpfsSamples.length - 1; i >= 0; i--) {
      if (this.tmpfsSamples[i]!.readAt < finishedAt) return this.tmpfsSamples[i]!.bytes;
    }
    return null;
  }

  /** Takes one line of the engine's stats stream (a JSON sample). */
  sample(line: string): void {
    let s: {
      read?: string;
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
    if (shmem !== null && memory > 0) {
      this.tmpfsBytes = shmem;
      this.tmpfsSamples.push({ readAt: Date.parse(s.read ?? '') || Date.now(), bytes: shmem });
      if (this.tmpfsSamples.length > KEPT_TMPFS_SAMPLES) this.tmpfsSamples.shift();
    }
    const cpuNs = s.cpu_stats?.cpu_usage?.total_usage ?? 0;
    if (cpuNs > 0) this.cpuSeconds = Math.max(this.cpuSeconds ?? 0, cpuNs / 1e9);
  }
}
