import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { TerminalSize } from '@tapit/protocol';
import type { ExecOptions, ExecProcess } from '../driver.js';
import { consoleSize } from './container-options.js';
import { engineMessage } from './pull.js';

/**
 * `docker exec` of a command in a running container, as the container's configured user (no
 * `User` given). Without a TTY the engine multiplexes stdout and stderr (8-byte headers).
 */
export class DockerExec implements ExecProcess {
  private readonly listeners: ((stream: 'stdout' | 'stderr', chunk: Buffer) => void)[] = [];
  private readonly ended: Promise<void>;
  private pending: Buffer = Buffer.alloc(0);

  private constructor(
    private readonly exec: Docker.Exec,
    private readonly stream: Duplex,
    private readonly tty: boolean,
  ) {
    stream.on('data', (chunk: Buffer) => {
      try {
        if (tty) this.emit('stdout', chunk);
        else this.demux(chunk);
      } catch (error) {
        stream.destroy(error as Error); // a throwing reader ends this command's streams only
      }
    });
    this.ended = new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      // `on`, not `once`: a second error with no listener would end the agent process.
      stream.on('error', () => resolve());
    });
  }

  static async start(container: Docker.Container, options: ExecOptions): Promise<DockerExec> {
    try {
      const exec = await container.exec({ Cmd: options.command, Tty: options.tty, AttachStdin: true, AttachStdout: true, AttachStderr: true });
      // ConsoleSize sizes the TTY from its first moment on engines with API 1.42+; older ones
      // start at 0x0 and get the resize just after.
      const size = options.tty ? { ConsoleSize: consoleSize(options.size) } : {};
      const stream = (await exec.start({ hijack: true, stdin: true, Tty: options.tty, ...size })) as unknown as Duplex;
      const process = new DockerExec(exec, stream, options.tty);
      if (options.tty) await process.resize(options.size).catch(() => undefined);
      return process;
    } catch (error) {
      throw new Error(engineMessage(error));
    }
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): void {
    this.listeners.push(listener);
  }

  write(data: Uint8Array): void {
    if (!this.stream.destroyed && this.stream.writable) this.stream.write(data);
  }

  closeStdin(): void {
    // Half-closes the hijacked connection: the engine closes the command's stdin, output goes on.
    if (!this.stream.destroyed && this.stream.writable) this.stream.end();
  }

  async resize(size: TerminalSize): Promise<void> {
    if (this.tty) await this.exec.resize({ h: size.rows, w: size.cols });
  }

  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  async wait(): Promise<number | null> {
    await this.ended;
    // The stream can end a moment before the engine records the exit code.
    for (let i = 0; i < 50; i++) {
      const info = await this.exec.inspect().catch(() => null);
      if (!info) return null;
      if (!info.Running) return info.ExitCode ?? null;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }

  release(): void {
    this.stream.destroy();
  }

  private emit(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    for (const listener of this.listeners) listener(stream, chunk);
  }

  /** Docker's multiplexed stream: [type, 0, 0, 0, size (4 bytes BE)] then `size` bytes. */
  private demux(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let offset = 0;
    while (this.pending.length - offset >= 8) {
      const size = this.pending.readUInt32BE(offset + 4);
      if (this.pending.length - offset - 8 < size) break;
      const type = this.pending[offset];
      const payload = this.pending.subarray(offset + 8, offset + 8 + size);
      offset += 8 + size;
      if (payload.length > 0) this.emit(type === 2 ? 'stderr' : 'stdout', payload);
    }
    this.pending = this.pending.subarray(offset);
  }
}
