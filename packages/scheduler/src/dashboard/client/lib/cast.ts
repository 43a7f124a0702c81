/** One event of an asciicast v2 file: `[seconds, code, data]`; code `o` output, `i` input, `r` resize, `m` marker. */
export interface CastEvent {
  time: number;
  code: string;
  data: string;
}

export interface CastHeader {
  width: number;
  height: number;
  title?: string;
}

/**
 * A recording's lines as they arrive (the CLI's castEvents, packages/cli/src/lib/recording.ts):
 * the header first, then its events; a line that is not an event is skipped, so a recording cut
 * short still plays up to where it ends. A long recording is never held whole.
 */
export async function* castLines(body: ReadableStream<Uint8Array>): AsyncGenerator<CastHeader | CastEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let pending = '';
  let header = true;
  // A consumer that stops early (a restart of the player) ends the download too, instead of
  // leaving it open with its connection until the page unloads.
  try {
    for (;;) {
      const { done, value } = await reader.read();
      pending += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = pending.split('\n');
      pending = done ? '' : lines.pop()!;
      for (const line of lines) {
        if (line.trim() === '') continue;
        const parsed = safeJson(line);
        if (header) {
          header = false;
          const h = parsed as Partial<CastHeader> | undefined;
          yield { width: Number(h?.width) || 80, height: Number(h?.height) || 24, title: typeof h?.title === 'string' ? h.title : undefined };
        } else if (Array.isArray(parsed) && typeof parsed[0] === 'number' && typeof parsed[1] === 'string' && typeof parsed[2] === 'string') {
          yield { time: parsed[0], code: parsed[1], data: parsed[2] };
        }
      }
      if (done) return;
    }
  } finally {
    void reader.cancel().catch(() => {});
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
