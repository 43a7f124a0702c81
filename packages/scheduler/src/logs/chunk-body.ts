import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import type { LogRun, LogStream } from '@tapit/protocol';

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/** How a chunk's body is written (`task_log_chunks.encoding`). */
export const ENCODING_JSON = 0;
export const ENCODING_DEFLATE = 1;

/**
 * Bodies shorter than this are stored as they are: deflate gains little on them and costs a
 * round trip to the thread pool. Above it, level 1: about as fast as the pipeline feeds it,
 * and text logs shrink to a third or less (docs/benchmarks.md, Logs).
 */
const DEFLATE_FROM_BYTES = 512;
const DEFLATE_LEVEL = 1;

const STREAM_BITS: Record<LogStream, number> = { stdout: 1, stderr: 2, system: 4 };

/** A chunk ready for its row: everything but where it goes. */
export interface EncodedChunk {
  lines: number;
  streams: number;
  earliestAt: Date;
  latestAt: Date;
  textBytes: number;
  encoding: number;
  body: Buffer;
  /** The runs' JSON, as stored (`body` before compression). */
  json: string;
}

/**
 * Text as the log keeps it: NUL (which Postgres refuses in text, and which the per-line layout
 * stored as U+FFFD) and unpaired surrogates (which UTF-8 cannot hold) become U+FFFD.
 */
export function storableLogText(text: string): string {
  // ES2024 string methods, in Node since 20 (the target library here is older).
  const wellFormed = text as unknown as { isWellFormed(): boolean; toWellFormed(): string };
  const formed = wellFormed.isWellFormed() ? text : wellFormed.toWellFormed();
  return formed.includes('\0') ? formed.replaceAll('\0', '\uFFFD') : formed;
}

/**
 * Encodes runs for a `task_log_chunks` row. Their JSON is the body, deflated in the thread pool
 * when long enough: readers send it on as it is (`{"first":N,"runs":BODY}`) without parsing.
 */
export async function encodeChunk(runs: readonly LogRun[]): Promise<EncodedChunk> {
  let lines = 0;
  let streams = 0;
  let textBytes = 0;
  let earliest = Infinity;
  let latest = -Infinity;
  const stored: LogRun[] = [];
  for (const run of runs) {
    const text = storableLogText(run.text);
    stored.push(text === run.text ? run : { ...run, text });
    lines += run.lines;
    streams |= STREAM_BITS[run.stream];
    textBytes += Buffer.byteLength(text);
    const at = Date.parse(run.at);
    if (at < earliest) earliest = at;
    if (at > latest) latest = at;
  }
  const text = JSON.stringify(stored);
  const json = Buffer.from(text);
  const compressed = json.length >= DEFLATE_FROM_BYTES;
  return {
    lines,
    streams,
    earliestAt: new Date(earliest),
    latestAt: new Date(latest),
    textBytes,
    encoding: compressed ? ENCODING_DEFLATE : ENCODING_JSON,
    body: compressed ? await deflate(json, { level: DEFLATE_LEVEL }) : json,
    json: text,
  };
}

/** The JSON of a stored chunk's runs (LogRun[]). */
export async function decodeChunkBody(encoding: number, stored: Uint8Array): Promise<string> {
  // pg reads bytea as a Buffer, PGlite as a plain Uint8Array.
  const body = Buffer.isBuffer(stored) ? stored : Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (encoding === ENCODING_JSON) return body.toString('utf8');
  if (encoding === ENCODING_DEFLATE) return (await inflate(body)).toString('utf8');
  throw new Error(`unknown log chunk encoding ${encoding}`);
}
