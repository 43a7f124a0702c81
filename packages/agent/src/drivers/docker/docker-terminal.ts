import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { TerminalSize } from '@tapit/protocol';
import type { Terminal } from '../driver.js';
import { log } from '../../log.js';
import { isNotFound } from './pull.js';
import { toSinceParam } from './timestamps.js';

/** Output held until the console takes it (it starts reading just after the container starts). */
const EARLY_LIMIT = 1024 * 1024;
/** A backlog longer than this many log messages only matters for its end (the screen keeps 64 KiB). */
const BACKLOG_MESSAGES = 2000;

/**
 * The attach stream of a container created with `Tty: true, OpenStdin: true, StdinOnce: false`.
 * With a TTY the engine sends raw bytes (no 8-byte multiplexing header). Letting go of the
 * stream leaves the container's stdin open (StdinOnce false), so an agent restart can attach again.
 */
export class DockerTerminal implements Terminal {
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private stream!: Duplex;
  private released = false;
  private readonly listeners: ((chunk: Buffer) => void)[] = [];
  private early: Buffer[] | null = [];
  private earlyBytes = 0;
  private readonly attachedAt = new Date().toISOString();

  private constructor(
    private readonly container: Docker.Container,
    stream: Duplex,
    /** An agent time on the engine's clock (EngineClock), for reading the engine's log. */
    private readonly toEngine: (agentTime: string) => string,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.use(stream);
  }

  /** Attaches (before `start` for a new container, so not a byte of output is missed). */
  static async attach(container: Docker.Container, toEngine: (agentTime: string) => string = (t) => t): Promise<DockerTerminal> {
    return new DockerTerminal(container, await attachStream(container), toEngine);
  }

  private use(stream: Duplex): void {
    this.stream = stream;
    // Always flowing: a slow console user must never stop the program's output.
    stream.on('data', (chunk: Buffer) => {
      if (this.early) return this.hold(chunk);
      for (const listener of this.listeners) {
        try {
          listener(chunk);
        } catch (error) {
          log('console.output-error', { container: this.container.id?.slice(0, 12), error: (error as Error).message });
        }
      }
    });
    let gone = false;
    const onGone = () => {
      if (gone) return;
      gone = true;
      void this.lost();
    };
    stream.once('end', onGone);
    stream.once('close', onGone);
    // `on`, not `once`: a second error with no listener would end the agent process.
    stream.on('error', onGone);
  }

  /** The stream ended: the program ended, or the engine dropped the link while it runs on. */
  private async lost(): Promise<void> {
    for (let attempt = 0; attempt < 30 && !this.released; attempt++) {
      const info = await this.container.inspect().catch((error) => (isNotFound(error) ? null : undefined));
      if (info === null || (info && !info.State.Running)) break;
      if (info) {
        try {
          const next = await attachStream(this.container);
          if (this.released) {
            next.destroy();
            break;
          }
          log('console.reattached', { container: info.Id.slice(0, 12) });
          return this.use(next);
        } catch {
          // the engine is not answering yet: try again in a moment
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    this.resolveClosed();
  }

  onOutput(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
    const early = this.early;
    this.early = null;
    for (const chunk of early ?? []) listener(chunk);
  }

  async backlog(since: string): Promise<Buffer> {
    const from = toSinceParam(this.toEngine(since));
    const until = toSinceParam(this.toEngine(this.attachedAt));
    if (!from || !until) return Buffer.alloc(0);
    // With a TTY the log is raw bytes, no multiplexing header.
    return this.container.logs({ stdout: true, stderr: true, follow: false, since: from, until, tail: BACKLOG_MESSAGES });
  }

  private hold(chunk: Buffer): void {
    this.early!.push(chunk);
    this.earlyBytes += chunk.length;
    while (this.earlyBytes > EARLY_LIMIT && this.early!.length > 1) this.earlyBytes -= this.early!.shift()!.length;
  }

  write(data: Uint8Array): void {
    if (!this.stream.destroyed && this.stream.writable) this.stream.write(data);
  }

  async resize(size: TerminalSize): Promise<void> {
    await this.container.resize({ h: size.rows, w: size.cols });
  }

  release(): void {
    this.released = true;
    this.stream.destroy();
  }
}

function attachStream(container: Docker.Container): Promise<Duplex> {
  return container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }) as unknown as Promise<Duplex>;
}
