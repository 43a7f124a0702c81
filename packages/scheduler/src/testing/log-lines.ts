import type { Kysely } from 'kysely';
import { linesOfChunk, type LogLine } from '@tapit/protocol';
import type { Database } from '../db/schema.js';
import { parseChunk, readLogChunks, storedLineCount } from '../logs/repository.js';

/** A task's stored lines after position `after`, oldest first; with `fromEnd`, the last `limit` of them (tests read logs line by line). */
export async function readLogLines(db: Kysely<Database>, taskId: string, after: number, limit: number, fromEnd = false): Promise<LogLine[]> {
  const from = fromEnd ? Math.max(after, (await storedLineCount(db, taskId)) - limit) : after;
  const { chunks } = await readLogChunks(db, taskId, from, { maxLines: limit });
  return chunks.flatMap((chunk) => linesOfChunk(parseChunk(chunk)));
}
