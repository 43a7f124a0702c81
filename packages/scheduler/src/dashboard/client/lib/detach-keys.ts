/**
 * The CLI's detach sequence, Ctrl-P Ctrl-Q (packages/cli/src/lib/detach-keys.ts), on the
 * terminal's input as xterm.js hands it over (a string per key or paste). A Ctrl-P is held back
 * until the next key shows whether Ctrl-Q follows; `flush` sends a lone one on after a pause.
 */
export const DETACH_KEYS_LABEL = 'Ctrl-P Ctrl-Q';
const FIRST = '\x10';
const SECOND = '\x11';

export class DetachKeys {
  private held = false;

  get holding(): boolean {
    return this.held;
  }

  /** What to send on, and whether the sequence was typed (whatever followed it is dropped). */
  scan(input: string): { forward: string; detach: boolean } {
    let forward = '';
    for (const key of input) {
      if (this.held && key === SECOND) {
        this.held = false;
        return { forward, detach: true };
      }
      if (this.held) forward += FIRST;
      this.held = key === FIRST;
      if (!this.held) forward += key;
    }
    return { forward, detach: false };
  }

  flush(): string {
    const out = this.held ? FIRST : '';
    this.held = false;
    return out;
  }
}
