import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { TerminalSize } from '@tapit/protocol';
import type { Terminal } from '../driver.js';
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
  private readonly listeners: ((chunk: Buffer) => void)[] = [];
  private early: Buffer[] | null = [];
  private earlyBytes = 0;
  private readonly attachedAt = new Date().toISOString();

  private constructor(
    private readonly container: Docker.Container,
    private readonly stream: Duplex,
  ) {
    // Always flowing: a slow console user must never stop the program's output.
    stream.on('data', (chunk: Buffer) => {
      if (this.early) return this.hold(chunk);
      for (const listener of this.listeners) listener(chunk);
    });
    this.closed = new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
  }

  /** Attaches (before `start` for a new container, so not a byte of output is missed). */
  static async attach(container: Docker.Container): Promise<DockerTerminal> {
    const stream = (await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as unknown as Duplex;
    return new DockerTerminal(container, stream);
  }

  onOutput(listener: (chunk: Buffer) => void): void {
    this.listeners.push(listener);
    const early = this.early;
    this.early = null;
    for (const chunk of early ?? []) listener(chunk);
  }

  async backlog(since: string): Promise<Buffer> {
    const from = toSinceParam(since);
    const until = toSinceParam(this.attachedAt);
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
    this.stream.destroy();
  }
}
