/**
 * The detach sequence of an attached console: Ctrl-P Ctrl-Q, as Docker has it, so users'
 * fingers already know it. Ctrl-C cannot be it: in raw mode it belongs to the remote program.
 */
export const DETACH_KEYS = Uint8Array.of(0x10, 0x11);
export const DETACH_KEYS_LABEL = 'Ctrl-P Ctrl-Q';

export interface DetachScan {
  /** Bytes to send on, in order (a held Ctrl-P comes first once it proved not to start the sequence). */
  forward: Uint8Array;
  /** The sequence was typed: send `forward`, then detach; whatever followed it is dropped. */
  detach: boolean;
}

/**
 * Finds the detach sequence in the keyboard's bytes, which may split it across reads. A Ctrl-P
 * is held back until the next byte shows whether Ctrl-Q follows; anything else releases it
 * unchanged. `flush` releases a held Ctrl-P on its own (after a pause, so a lone Ctrl-P, e.g.
 * a shell's "previous history", still reaches the remote program).
 */
export class DetachDetector {
  private held = 0;

  constructor(private readonly keys: Uint8Array = DETACH_KEYS) {
    if (keys.length === 0) throw new Error('detach keys must not be empty');
  }

  /** Whether a partial sequence is held back (the caller arms its flush timer then). */
  get holding(): boolean {
    return this.held > 0;
  }

  scan(input: Uint8Array): DetachScan {
    const out: number[] = [];
    for (const byte of input) {
      if (byte === this.keys[this.held]) {
        this.held += 1;
        if (this.held === this.keys.length) {
          this.held = 0;
          return { forward: Uint8Array.from(out), detach: true };
        }
        continue;
      }
      // Not the next key: what was held was ordinary input after all. The byte may itself start
      // a new sequence (Ctrl-P Ctrl-P Ctrl-Q detaches after sending one Ctrl-P).
      out.push(...this.keys.subarray(0, this.held));
      this.held = 0;
      if (byte === this.keys[0]) this.held = 1;
      else out.push(byte);
    }
    return { forward: Uint8Array.from(out), detach: false };
  }

  /** Releases a held partial sequence as ordinary input. */
  flush(): Uint8Array {
    const out = this.keys.slice(0, this.held);
    this.held = 0;
    return out;
  }
}
