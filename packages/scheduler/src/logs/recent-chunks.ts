import type { StoredChunk } from './repository.js';

/**
 * The log chunks this replica stored last, per task, as their runs' JSON: a follower of a task
 * that is printing takes them from here instead of reading back from the database and inflating
 * what was just written. Kept chunks always follow on from each other, and only a follower that
 * asks for the first line of one is served: a [system] line stored by a transaction, a chunk
 * stored by another replica, anything older goes to the database.
 */
export class RecentChunks {
  /** Per task, oldest first; the Map's order is least recently stored first. */
  private readonly tasks = new Map<string, { chunks: StoredChunk[]; chars: number }>();
  private chars = 0;

  constructor(
    private readonly maxChars = 16 * 1024 * 1024,
    private readonly maxCharsPerTask = 4 * 1024 * 1024,
  ) {}

  /** A chunk just committed. */
  remember(taskId: string, chunk: StoredChunk): void {
    let entry = this.tasks.get(taskId);
    this.tasks.delete(taskId);
    const last = entry?.chunks.at(-1);
    if (!entry || !last || last.first + last.lines !== chunk.first) {
      this.chars -= entry?.chars ?? 0;
      entry = { chunks: [], chars: 0 };
    }
    entry.chunks.push(chunk);
    entry.chars += chunk.runs.length;
    this.chars += chunk.runs.length;
    while (entry.chars > this.maxCharsPerTask && entry.chunks.length > 1) {
      const old = entry.chunks.shift()!;
      entry.chars -= old.runs.length;
      this.chars -= old.runs.length;
    }
    this.tasks.set(taskId, entry);
    for (const [id, other] of this.tasks) {
      if (this.chars <= this.maxChars || id === taskId) break;
      this.tasks.delete(id);
      this.chars -= other.chars;
    }
  }

  /** Kept chunks from position `next` on (the first starting there), up to about `maxChars`; none if `next` starts none. */
  from(taskId: string, next: number, maxChars: number): StoredChunk[] {
    const chunks = this.tasks.get(taskId)?.chunks ?? [];
    const start = chunks.findIndex((chunk) => chunk.first === next);
    if (start === -1) return [];
    const out: StoredChunk[] = [];
    let chars = 0;
    for (let i = start; i < chunks.length && chars < maxChars; i++) {
      out.push(chunks[i]!);
      chars += chunks[i]!.runs.length;
    }
    return out;
  }
}
