import type Docker from 'dockerode';
import type { DriverTask, ExecOptions, ExecProcess, OutputCursor, OutputLine, TaskEnd, TaskHandle, Terminal } from '../driver.js';
import { DockerExec } from './docker-exec.js';
import { asDockerCursor, cursorAt, DockerLogReader, sinceParam } from './log-reader.js';
import { engineMessage, isNotFound } from './pull.js';
import { dockerTime } from './timestamps.js';
import { UsageSampler } from './usage-sampler.js';

export interface DockerHandle extends TaskHandle {
  driver: 'docker';
  version: 1;
  containerId: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One task's container. */
export class DockerTask implements DriverTask {
  private readonly container: Docker.Container;
  private readonly sampler: UsageSampler;
  private ended: Promise<TaskEnd> | null = null;

  constructor(
    docker: Docker,
    readonly handle: DockerHandle,
    readonly terminal: Terminal | null = null,
  ) {
    this.container = docker.getContainer(handle.containerId);
    this.sampler = new UsageSampler(this.container);
    this.sampler.start();
  }

  async startedAt(): Promise<string | null> {
    return dockerTime((await this.container.inspect()).State.StartedAt);
  }

  exec(options: ExecOptions): Promise<ExecProcess> {
    return DockerExec.start(this.container, options);
  }

  async streamOutput(from: OutputCursor | null, onLines: (lines: OutputLine[], cursor: OutputCursor) => void): Promise<void> {
    // A TTY container's log is raw screen bytes, not the multiplexed stream the reader parses;
    // its output reaches users through the terminal, not the task log.
    if ((await this.inspectOrNull())?.Config.Tty) return;
    let cursor = asDockerCursor(from);
    for (;;) {
      // Follow until the engine ends the stream; it also ends if the daemon restarts, so only a
      // stopped container means the output is complete. The last pass reads without following.
      const running = (await this.inspectOrNull())?.State.Running ?? false;
      const reader = new DockerLogReader(cursor);
      const emit = (chunk: Buffer) => {
        const { lines, cursor: after } = reader.push(chunk);
        if (after && (lines.length > 0 || JSON.stringify(after) !== JSON.stringify(cursor))) {
          cursor = after;
          onLines(lines, after as unknown as OutputCursor);
        }
      };
      const since = sinceParam(cursor);
      const options = { stdout: true, stderr: true, timestamps: true, ...(since ? { since } : {}) };
      try {
        if (running) {
          const stream = (await this.container.logs({ ...options, follow: true })) as NodeJS.ReadableStream;
          await new Promise<void>((resolve, reject) => {
            stream.on('data', emit);
            stream.on('end', resolve);
            stream.on('close', resolve);
            stream.on('error', reject);
          });
        } else {
          emit((await this.container.logs({ ...options, follow: false })) as Buffer);
          return;
        }
      } catch (error) {
        if (isNotFound(error)) return;
        await sleep(1000); // engine unreachable for a moment: try again from the cursor
      }
    }
  }

  cursorAt(time: string): OutputCursor {
    return cursorAt(time) as OutputCursor;
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

  async diskUsageBytes(): Promise<number | null> {
    // `size` is a real engine option the typings lack; SizeRw is the writable layer.
    const options = { size: true } as Docker.ContainerInspectOptions;
    const info = (await this.container.inspect(options)) as Docker.ContainerInspectInfo & { SizeRw?: number };
    return typeof info.SizeRw === 'number' ? info.SizeRw : null;
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

  private async inspectOrNull(): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.container.inspect();
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  private async waitForEnd(): Promise<TaskEnd> {
    for (;;) {
      try {
        await this.container.wait({ condition: 'not-running' });
        break;
      } catch (error) {
        if (isNotFound(error)) break;
        await sleep(1000);
      }
    }
    this.sampler.stop();
    const info = await this.inspectOrNull();
    if (!info) {
      return {
        exitCode: null,
        oomKilled: false,
        startedAt: null,
        finishedAt: new Date().toISOString(),
        usage: { peakMemoryBytes: this.sampler.peakMemoryBytes, cpuSeconds: this.sampler.cpuSeconds, diskBytes: null },
      };
    }
    const disk = await this.diskUsageBytes().catch(() => null);
    const limit = info.HostConfig.Memory ?? 0;
    const peak = this.sampler.peakMemoryBytes;
    // SIGKILL with memory at the limit is the OOM killer even when the engine missed the event.
    const oomKilled = info.State.OOMKilled || (info.State.ExitCode === 137 && limit > 0 && peak !== null && peak >= limit * 0.95);
    const startedAt = dockerTime(info.State.StartedAt);
    const finishedAt = dockerTime(info.State.FinishedAt) ?? new Date().toISOString();
    return {
      exitCode: info.State.ExitCode,
      oomKilled,
      startedAt,
      // The engine stamps StartedAt after runc returns, so a very short task can finish "before"
      // it started; never report that.
      finishedAt: startedAt && finishedAt < startedAt ? startedAt : finishedAt,
      usage: { peakMemoryBytes: peak, cpuSeconds: this.sampler.cpuSeconds, diskBytes: disk },
    };
  }
}
