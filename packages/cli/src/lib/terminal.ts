import { once } from 'node:events';

/** Writes to a stream and waits when its buffer is full, so a fast log cannot fill memory. */
export async function writeAll(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/**
 * A spinner line on stderr while a task waits for an agent. Only on a terminal: in a pipe or a
 * CI log the `[system]` status lines already show the progress, and redraws would be noise.
 */
export class WaitingLine {
  private timer: NodeJS.Timeout | undefined;
  private frame = 0;
  private text = '';
  private readonly since = Date.now();

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  get enabled(): boolean {
    return this.stream.isTTY === true;
  }

  show(text: string): void {
    this.text = text;
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
    this.draw();
  }

  /** Removes the line; call before anything else is printed, then `show` again if still waiting. */
  clear(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.stream.write('\r\x1b[K');
  }

  private draw(): void {
    this.frame = (this.frame + 1) % FRAMES.length;
    const seconds = Math.floor((Date.now() - this.since) / 1000);
    this.stream.write(`\r\x1b[K${FRAMES[this.frame]} ${this.text} (${seconds}s)`);
  }
}
