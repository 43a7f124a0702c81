import type Docker from 'dockerode';
import type { DriverTask, EngineHealth, ExecOptions, ExecProcess, OutputCursor, OutputRun, TaskEnd, TaskHandle, Terminal } from '../driver.js';
import { DockerExec } from './docker-exec.js';
import { asDockerCursor, cursorAt, DockerLogReader, sinceParam } from './log-reader.js';
import type { EngineClock } from './engine-clock.js';
import { engineMessage, isNotFound } from './pull.js';
import { dockerTime } from './timestamps.js';
import { UsageSampler } from './usage-sampler.js';

export interface DockerHandle extends TaskHandle {
  driver: 'docker';
  version: 1;
  containerId: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the driver knows of a container it has just started itself, so the first steps after the
 * start ask the engine nothing: when it started (the agent's clock as the start call was made,
 * never after the engine's own time, which the exit report carries) and whether it has a TTY.
 * The engine is busy ending a short task right then: an inspect waited out its exit, holding the
 * RUNNING report and the wait.
 */
export interface FreshStart {
  startedAt: string;
  tty: boolean;
}

/** One task's container. Times go out on the agent's clock, and come in on it (EngineClock). */
export class DockerTask implements DriverTask {
  private readonly container: Docker.Container;
  private readonly sampler: UsageSampler;
  private ended: Promise<TaskEnd> | null = null;
  private firstRead = true;

  constructor(
    private readonly docker: Docker,
    readonly handle: DockerHandle,
    private readonly health: EngineHealth,
    private readonly clock: EngineClock,
    readonly terminal: Terminal | null = null,
    private readonly fresh: FreshStart | null = null,
  ) {
    this.container = docker.getContainer(handle.containerId);
    this.sampler = new UsageSampler(this.container);
    this.sampler.start();
  }

  async startedAt(): Promise<string | null> {
    if (this.fresh) return this.fresh.startedAt;
    await this.clock.fresh();
    return dockerTime((await this.container.inspect()).State.StartedAt, this.clock.toAgentMs);
  }

  exec(options: ExecOptions): Promise<ExecProcess> {
    return DockerExec.start(this.container, options);
  }

  async streamOutput(from: OutputCursor | null, onOutput: (runs: OutputRun[], cursor: OutputCursor) => void): Promise<void> {
    // A TTY container's log is raw screen bytes, not the multiplexed stream the reader parses;
    // its output reaches users through the terminal, not the task log.
    if (this.fresh ? this.fresh.tty : (await this.inspectSteadily())?.Config.Tty) return;
    let cursor = asDockerCursor(from);
    // Just started here (the first read): followed at once, without asking the engine (busy
    // starting it) whether it runs; a follow of a container that already ended ends at once, and
    // the next pass reads on.
    let surelyStarted = this.firstRead && this.fresh !== null;
    this.firstRead = false;
    for (;;) {
      await this.clock.fresh();
      const reader = new DockerLogReader(cursor, this.clock.toAgentMs);
      const emit = (chunk: Buffer) => {
        const { runs, cursor: after } = reader.push(chunk);
        if (after && (runs.length > 0 || JSON.stringify(after) !== JSON.stringify(cursor))) {
          cursor = after;
          onOutput(runs, after as unknown as OutputCursor);
        }
      };
      const since = sinceParam(cursor);
      const options = { stdout: true, stderr: true, timestamps: true, ...(since ? { since } : {}) };
      try {
        // Follow until the engine ends the stream; it also ends if the daemon restarts, so only a
        // stopped container means the output is complete. The last pass reads without following,
        // and as a stream too: what the agent had not caught up with may be hundreds of MB.
        const running = surelyStarted || ((await this.inspectOrNull())?.State.Running ?? false);
        surelyStarted = false;
        const stream = running ? ((await this.container.logs({ ...options, follow: true })) as NodeJS.ReadableStream) : await this.unfollowedLogs(options);
        await readInPieces(stream, emit);
        if (!running) {
          const end = reader.finish();
          if (end.runs.length > 0) onOutput(end.runs, end.cursor as unknown as OutputCursor);
          return;
        }
      } catch (error) {
        if (isNotFound(error)) return;
        // The engine went away (its log file stays): read on from the cursor once it is back.
        await this.engineBack();
      }
    }
  }

  /**
   * `GET /containers/ID/logs` without following, as a stream: dockerode reads an unfollowed log
   * into one buffer, and handing that on at once held the event loop for as long as it took.
   */
  private unfollowedLogs(options: Record<string, unknown>): Promise<NodeJS.ReadableStream> {
    return new Promise((resolve, reject) => {
      const request = {
        path: `/containers/${this.handle.containerId}/logs?`,
        method: 'GET',
        isStream: true,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
        options: { ...options, follow: false },
      };
      this.container.modem.dial(request, (error: unknown, stream: NodeJS.ReadableStream | undefined) => (error || !stream ? reject(error ?? new Error('no answer')) : resolve(stream)));
    });
  }

  cursorAt(time: string): OutputCursor {
    return cursorAt(this.clock.toEngine(time)) as OutputCursor;
  }

  wait(): Promise<TaskEnd> {
    this.ended ??= this.waitForEnd();
    return this.ended;
  }

  async stop(graceSeconds: number): Promise<void> {
    try {
      // The engine sends SIGTERM (or the image's stop signal) and SIGKILL after t seconds, even if
      // this agent dies meanwhile.
      await this.container.stop({ t: graceSeconds });
    } catch (error) {
      const code = (error as { statusCode?: number }).statusCode;
      if (code !== 304 && code !== 404) throw new Error(engineMessage(error));
    }
  }

  /** The writable layer plus the tmpfs mounts: now, or as sampled last before `finishedAt` (the engine's clock, ms). */
  async diskUsageBytes(finishedAt?: number): Promise<number | null> {
    return this.diskUsageOf(await this.inspectWithSize(), finishedAt);
  }

  /** `diskUsageBytes` from an inspect that asked for sizes. */
  private diskUsageOf(info: SizedInspect, finishedAt?: number): number | null {
    if (typeof info.SizeRw !== 'number') return null;
    // Plus its tmpfs mounts (image VOLUMEs, a read-only task's /tmp), read from the cgroup's
    // samples: unknown (null), never understated, until one came.
    if (!info.Mounts?.some((m) => m.Type === 'tmpfs')) return info.SizeRw;
    const tmpfs = finishedAt === undefined ? this.sampler.tmpfsBytes : this.sampler.tmpfsBytesBefore(finishedAt);
    return tmpfs === null ? null : info.SizeRw + tmpfs;
  }

  /**
   * The ended container, with its size when the engine can tell it: an engine that inspects but
   * cannot size a container (a snapshotter's error) still has the task's end reported, its disk
   * use unknown.
   */
  private async inspectEnded(): Promise<SizedInspect | null> {
    try {
      return await this.inspectOrNull(true);
    } catch {
      return this.inspectSteadily();
    }
  }

  /** An inspect with the writable layer's size (SizeRw). */
  private async inspectWithSize(): Promise<SizedInspect> {
    // `size` is a real engine option the typings lack.
    return (await this.container.inspect({ size: true } as Docker.ContainerInspectOptions)) as SizedInspect;
  }

  async destroy(): Promise<void> {
    this.sampler.stop();
    this.terminal?.release();
    try {
      await this.container.remove({ force: true, v: true });
    } catch (error) {
      if (!isNotFound(error)) throw new Error(engineMessage(error));
    }
  }

  private async inspectOrNull(withSize = false): Promise<SizedInspect | null> {
    try {
      return withSize ? await this.inspectWithSize() : await this.container.inspect();
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** Like inspectOrNull, but waits out an engine that is away instead of failing. */
  private async inspectSteadily(): Promise<SizedInspect | null> {
    for (;;) {
      try {
        return await this.inspectOrNull();
      } catch {
        await this.engineBack();
      }
    }
  }

  /** After a failed call: wait for the engine if it is away, or a moment if it only stumbled. */
  private async engineBack(): Promise<boolean> {
    if ((await this.health.check()) === null) {
      await sleep(1000);
      return false;
    }
    await this.health.reachable();
    return true;
  }

  /**
   * Waits for the container's end and tells whether its engine ended it: either the wait came
   * back while the engine was going away (a daemon shutting down stops its containers, answering
   * waits already open but no new connection), or the engine dropped the wait and, once it
   * answered again, the container had ended (killed by the shutdown, or by the restarted daemon
   * restoring it). A task that ends on its own while the engine answers has its wait answered
   * first; one that lives through the restart (live restore) is simply waited for again, and
   * one that ended while a live-restore engine was away ended on its own. When the wait came
   * back, 'ask the engine': whether it answers right then tells (the caller asks beside its inspect).
   */
  private async waitForContainer(): Promise<boolean | 'ask the engine'> {
    for (;;) {
      // A crashed daemon resets the wait's connection without ending the request: abort it
      // ourselves once the engine is found away.
      const lost = new AbortController();
      const off = this.health.onChange((cause) => cause !== null && lost.abort());
      let outcome: 'ended' | 'gone' | 'dropped';
      try {
        await this.waitOnce(lost.signal);
        outcome = 'ended';
      } catch (error) {
        outcome = isNotFound(error) ? 'gone' : 'dropped';
      } finally {
        off();
      }
      if (outcome === 'gone') return false;
      // Whether the engine is going away: its caller asks, beside its inspect of the end.
      if (outcome === 'ended') return 'ask the engine';
      const droppedAt = Date.now();
      const wentAway = await this.engineBack();
      const info = await this.inspectSteadily();
      if (!info) return wentAway;
      if (info.State.Running) continue; // it lived through the outage: wait again
      // Away, or back so fast no check saw it: then the restarted daemon ended it after the drop.
      return wentAway || Date.parse(info.State.FinishedAt) >= droppedAt;
    }
  }

  /** Whether the engine keeps containers running while it is down (`live-restore`). */
  private async liveRestore(): Promise<boolean> {
    const info = (await this.docker.info().catch(() => null)) as { LiveRestoreEnabled?: boolean } | null;
    return info?.LiveRestoreEnabled === true;
  }

  /**
   * One `POST /containers/ID/wait`, read as a stream: dockerode's own wait never settles when
   * the daemon dies after answering the headers (it only listens for the body's end).
   */
  private waitOnce(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const options = {
        path: `/containers/${this.handle.containerId}/wait?condition=not-running`,
        method: 'POST',
        isStream: true,
        abortSignal: signal,
        statusCodes: { 200: true, 404: 'no such container', 500: 'server error' },
      };
      this.container.modem.dial(options, (error: unknown, response: NodeJS.ReadableStream | undefined) => {
        if (error || !response) return reject(error ?? new Error('no answer'));
        let ended = false;
        response.on('data', () => undefined);
        response.on('end', () => ((ended = true), resolve()));
        response.on('error', reject);
        response.on('close', () => ended || reject(new Error('the engine dropped the wait')));
        signal.addEventListener('abort', () => (response as unknown as { destroy(): void }).destroy(), { once: true });
      });
    });
  }

  private async waitForEnd(): Promise<TaskEnd> {
    const waited = await this.waitForContainer();
    this.sampler.stop();
    // Its end and its size in one inspect, beside the engine check: every call here delays the report.
    const [endedByEngine, info] = await Promise.all([waited === 'ask the engine' ? this.health.check().then((cause) => cause !== null) : waited, this.inspectEnded()]);
    // The engine answers again by now: it restarted (a task is never reported while it is away).
    const withEngine = endedByEngine && !(await this.liveRestore());
    const lostWithEngine = withEngine ? `the ${this.health.name} restarted` : null;
    if (!info) {
      return {
        exitCode: null,
        oomKilled: false,
        startedAt: null,
        finishedAt: new Date().toISOString(),
        usage: { peakMemoryBytes: this.sampler.peakMemoryBytes, cpuSeconds: this.sampler.cpuSeconds, diskBytes: null },
        lostWithEngine,
      };
    }
    // Unset, the engine says 0001-01-01 (a negative time): then the latest sample.
    const finishedMs = Date.parse(info.State.FinishedAt);
    const disk = this.diskUsageOf(info, finishedMs > 0 ? finishedMs : undefined);
    const limit = info.HostConfig.Memory ?? 0;
    const peak = this.sampler.peakMemoryBytes;
    // SIGKILL with memory at the limit is the OOM killer even when the engine missed the event;
    // not when the engine's restart killed it.
    const oomKilled = info.State.OOMKilled || (!withEngine && info.State.ExitCode === 137 && limit > 0 && peak !== null && peak >= limit * 0.95);
    await this.clock.fresh();
    const startedAt = dockerTime(info.State.StartedAt, this.clock.toAgentMs);
    const finishedAt = dockerTime(info.State.FinishedAt, this.clock.toAgentMs) ?? new Date().toISOString();
    return {
      exitCode: info.State.ExitCode,
      oomKilled,
      startedAt,
      // The engine stamps StartedAt after runc returns, so a very short task can finish "before"
      // it started; never report that.
      finishedAt: startedAt && finishedAt < startedAt ? startedAt : finishedAt,
      usage: { peakMemoryBytes: peak, cpuSeconds: this.sampler.cpuSeconds, diskBytes: disk },
      lostWithEngine,
    };
  }
}

/**
 * Hands a log stream's bytes on as they come: what one turn of the event loop read (the engine
 * sends a message at a time, one HTTP chunk per line when it follows) is parsed together in the
 * next turn, so a fast stream is parsed in pieces of a few socket reads and never all at once.
 * Resolves at the stream's end; a throwing consumer (e.g. a full disk under the spool) fails
 * this read, not the agent.
 */
function readInPieces(stream: NodeJS.ReadableStream, emit: (bytes: Buffer) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending: Buffer[] = [];
    let scheduled: NodeJS.Immediate | null = null;
    const drain = () => {
      scheduled = null;
      if (pending.length === 0) return;
      const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      try {
        emit(bytes);
      } catch (error) {
        (stream as NodeJS.ReadableStream & { destroy(error?: Error): void }).destroy(error as Error);
      }
    };
    stream.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      scheduled ??= setImmediate(drain);
    });
    const done = () => {
      if (scheduled) clearImmediate(scheduled);
      drain();
      resolve();
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', (error) => {
      if (scheduled) clearImmediate(scheduled);
      drain();
      reject(error);
    });
  });
}

/** An inspect's answer with `SizeRw`, the writable layer's size, when asked for with `size`. */
type SizedInspect = Docker.ContainerInspectInfo & { SizeRw?: number };
