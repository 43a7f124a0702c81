import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { TerminalSize } from '@tapit/protocol';
import type { Terminal } from '../driver.js';

/**
 * The attach stream of a container created with `Tty: true, OpenStdin: true, StdinOnce: false`.
 * With a TTY the engine sends raw bytes (no 8-byte multiplexing header). Letting go of the
 * stream leaves the container's stdin open (StdinOnce false), so an agent restart can attach again.
 */
export class DockerTerminal implements Terminal {
  readonly closed: Promise<void>;
  private readonly listeners: ((chunk: Buffer) => void)[] = [];

  private constructor(
    private readonly container: Docker.Container,
    private readonly stream: Duplex,
  ) {
    // Always flowing: a slow console user must never stop the program's output.
    stream.on('data', (chunk: Buffer) => {
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
