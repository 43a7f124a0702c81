import { ndjsonBatches } from './ndjson.js';
import { writeAll } from './terminal.js';

/** One event of an asciicast v2 file: `[seconds, code, data]`; code `o` output, `i` input, `r` resize. */
export interface CastEvent {
  time: number;
  code: string;
  data: string;
}

/**
 * The events of an asciicast v2 file (a JSON header line, then one JSON array per event) as it
 * arrives, one read in memory at a time. Lines that are not events are skipped: a recording cut
 * short by a crash still plays up to where it ends.
 */
export async function* castEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<CastEvent> {
  let header = true;
  for await (const lines of ndjsonBatches(body)) {
    for (const line of lines) {
      if (header) header = false;
      else {
        const event = parseCastEvent(line);
        if (event) yield event;
      }
    }
  }
}

/** One event line, or undefined for a line that is not one. */
function parseCastEvent(line: string): CastEvent | undefined {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (Array.isArray(event) && typeof event[0] === 'number' && typeof event[1] === 'string' && typeof event[2] === 'string') {
    return { time: event[0], code: event[1], data: event[2] };
  }
  return undefined;
}

export interface ReplayOptions {
  /** 2 plays twice as fast. */
  speed: number;
  /** Longest pause between two outputs, in recorded seconds (a console left idle for an hour). */
  idleLimit: number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Plays a recording's output to a terminal at its recorded pace. Input events are not shown
 * (the terminal's echo is already in the output, and a password typed without echo stays hidden).
 */
export async function replayCast(events: Iterable<CastEvent> | AsyncIterable<CastEvent>, out: NodeJS.WritableStream, options: ReplayOptions): Promise<void> {
  const sleep = options.sleep ?? defaultSleep;
  let last = 0;
  for await (const event of events) {
    if (event.code !== 'o') continue;
    const gap = Math.min(Math.max(0, event.time - last), options.idleLimit);
    last = event.time;
    if (gap > 0) await sleep((gap * 1000) / options.speed);
    await writeAll(out, event.data);
  }
}
