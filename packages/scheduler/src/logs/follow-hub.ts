import { countLines, sliceRuns, type LogFollowEvent, type LogRun } from '@tapit/protocol';
import type { Kysely } from 'kysely';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Database } from '../db/schema.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import type { RecentChunks } from './recent-chunks.js';
import { readLogChunks, readLogState, type ChunkReadOptions, type LogState, type StoredChunk } from './repository.js';
import { WakeSignal } from '../wake-signal.js';

/** How a follow sends the log: the events of chunks, and the page of a read of its own. */
export interface FollowFormat {
  /** Follows with the same key send the same text for the same chunks: it is made once for them all. */
  key: string;
  /** What one of the follow's own reads (catching up) takes at most. */
  page: ChunkReadOptions;
  /** The NDJSON events of these chunks: '' when none of their lines is sent (a filter). */
  text(chunks: StoredChunk[]): string;
}

/** Where a follow's bytes go (its HTTP stream); resolves once they are taken, at the client's pace. */
export type FollowSink = (bytes: Uint8Array) => Promise<unknown>;

export interface FollowHubOptions {
  db: Kysely<Database>;
  signals: TaskSignals;
  /** Chunks this replica just stored: the shared reader takes them from here when it can. */
  recentChunks?: RecentChunks;
  /** How often a followed task's log is read when nothing woke its reader (other replicas' changes). */
  pollMs: number;
  /** A follow silent this long gets a blank line. */
  keepAliveMs: number;
  /** Bytes a follow may have waiting for its client; past them it leaves the shared reader and catches up on its own reads. */
  bufferBytes: number;
  /** Text of chunks the shared reader takes from the database at a time (whole chunks: at least one). */
  pageBytes: number;
}

/** What a follow's client may have waiting before it falls behind: two pages of chunks. */
export const DEFAULT_FOLLOW_BUFFER_BYTES = 8 * 1024 * 1024;

const encoder = new TextEncoder();
const encode = (text: string) => encoder.encode(text);
const KEEP_ALIVE = encode('\n');

/** A task's state as events: its status, and the `end` when its log is complete (or expired). */
function stateEvents(state: LogState): { status: Uint8Array; end: Uint8Array | undefined } {
  const status = encode(`${JSON.stringify({ type: 'status', status: state.status } as LogFollowEvent)}\n`);
  const end: LogFollowEvent | undefined = state.log_expired_at
    ? { type: 'end', status: 'STOPPED', exitCode: state.exit_code, logExpiredAt: state.log_expired_at.toISOString() }
    : state.complete
      ? { type: 'end', status: 'STOPPED', exitCode: state.exit_code }
      : undefined;
  return { status, end: end && encode(`${JSON.stringify(end)}\n`) };
}

/** The lines of a stored chunk from position `next` on (parsed only to cut it). */
function chunkFrom(chunk: StoredChunk, next: number): StoredChunk {
  if (next <= chunk.first) return chunk;
  const runs = sliceRuns(JSON.parse(chunk.runs) as LogRun[], next - chunk.first);
  return { first: next, lines: countLines(runs), runs: JSON.stringify(runs) };
}

/** Why a follow's wait for the shared reader ended. */
type Outcome = 'behind' | 'done';

/** One follow: its position, what waits for its client, and its wait for the shared reader. */
class Follower {
  /** The last position sent (queued for the client). */
  after: number;
  lastStatus: string | undefined;
  stopped = false;
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private pumping = false;
  private lastWrite = Date.now();
  private idle: (() => void)[] = [];
  private waiting: { resolve(outcome: Outcome): void; reject(error: unknown): void } | undefined;
  /** Woken when the follow stops, so a wait for the database ends with it. */
  private readonly stopSignal = new WakeSignal();

  constructor(
    after: number,
    readonly format: FollowFormat,
    private readonly sink: FollowSink,
    private readonly keepAliveMs: number,
  ) {
    this.after = after;
  }

  /** Bytes waiting for the client. */
  get backlog(): number {
    return this.queued;
  }

  /** Queues bytes for the client; never waits for it. */
  send(bytes: Uint8Array): void {
    if (this.stopped || bytes.length === 0) return;
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (!this.pumping) void this.pump();
  }

  /** The status if it changed, and the end if there is one: true then. */
  sendState(events: ReturnType<typeof stateEvents>, status: string): boolean {
    if (status !== this.lastStatus) {
      this.lastStatus = status;
      this.send(events.status);
    }
    if (events.end) this.send(events.end);
    return events.end !== undefined;
  }

  keepAlive(now: number): void {
    if (!this.pumping && now - this.lastWrite >= this.keepAliveMs) this.send(KEEP_ALIVE);
  }

  /** Resolves once everything queued was taken by the client (or the follow stopped). */
  flushed(): Promise<void> {
    if (this.stopped || !this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** The client left, or its token was revoked: nothing more is sent. */
  stop(): void {
    this.stopped = true;
    for (const bytes of this.queue.splice(0)) this.queued -= bytes.length;
    this.settle('done');
    this.stopSignal.wake();
    this.drained();
  }

  /** Waits for the shared reader to hand the follow back ('behind') or end it ('done'). */
  waitForReader(): Promise<Outcome> {
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  settle(outcome: Outcome): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(outcome);
  }

  fail(error: unknown): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  /** Waits `ms`, or less if the follow stops. */
  pause(ms: number): Promise<void> {
    return this.stopSignal.wait(ms);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    while (this.queue.length > 0 && !this.stopped) {
      const bytes = this.queue.shift()!;
      this.lastWrite = Date.now();
      try {
        await this.sink(bytes);
      } catch {
        this.stop();
      }
      this.queued -= bytes.length;
      this.lastWrite = Date.now();
    }
    this.pumping = false;
    this.drained();
  }

  private drained(): void {
    const idle = this.idle;
    this.idle = [];
    for (const resolve of idle) resolve();
  }
}

/**
 * The shared reader of one task's log on this replica. Follows at the live edge join it; at
 * each wake (this replica changed the task) or poll (another one may have) it reads the task's
 * state once and the lines stored since, once, and queues them for every such follow (each in
 * its format), without waiting for any client: a follow whose client lets more than
 * `bufferBytes` wait is handed back to catch up on its own reads.
 */
class TaskReader {
  /** The last position read (every live follow has sent at least up to here). */
  position = 0;
  /** Wake-ups seen: a follow that read while one came asks for a read at once when it joins. */
  changes = 0;
  /** Every follow of the task, whatever it does. */
  private readonly followers = new Set<Follower>();
  private readonly live = new Set<Follower>();
  /** Caught up on their own reads; taken in by the next read. */
  private readonly joining = new Set<Follower>();
  private readonly changed = new WakeSignal();
  private running = false;
  private readonly unsubscribe: () => void;
  /** Waiting for the next read that begins after they came (FollowHub.read). */
  private readWaiters: (() => void)[] = [];

  constructor(
    readonly taskId: string,
    private readonly options: FollowHubOptions,
    private readonly onIdle: () => void,
  ) {
    this.unsubscribe = options.signals.onTaskChanged(taskId, () => {
      this.changes++;
      this.poke();
    });
  }

  add(follower: Follower): void {
    this.followers.add(follower);
  }

  get backlog(): number {
    let bytes = 0;
    for (const follower of this.followers) bytes += follower.backlog;
    return bytes;
  }

  remove(follower: Follower): void {
    this.followers.delete(follower);
    this.live.delete(follower);
    this.joining.delete(follower);
    if (this.followers.size > 0) return;
    this.unsubscribe();
    this.onIdle();
    this.poke();
  }

  /** A follow caught up to the end of the log as it read it (`changes` seen before that read). */
  join(follower: Follower, changes: number): Promise<Outcome> {
    const outcome = follower.waitForReader();
    this.joining.add(follower);
    if (changes !== this.changes) this.poke();
    if (!this.running) void this.loop();
    return outcome;
  }

  private poke(): void {
    this.changed.wake();
  }

  /** Resolves once a read that began after this call is over (at once when nothing reads the task here). */
  nextRead(): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => this.readWaiters.push(resolve));
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.followers.size > 0) {
        await this.changed.wait(this.options.pollMs);
        const waiters = this.readWaiters;
        this.readWaiters = [];
        if (this.live.size + this.joining.size > 0) await this.read();
        for (const resolve of waiters) resolve();
        const now = Date.now();
        for (const follower of this.live) follower.keepAlive(now);
        for (const follower of this.joining) follower.keepAlive(now);
      }
    } finally {
      this.running = false;
      for (const resolve of this.readWaiters.splice(0)) resolve();
    }
  }

  /**
   * One read for every live follow: the state, then the lines up to the `log_count` read with it
   * (so every line stored before that status is sent before it, and before `end`).
   */
  private async read(): Promise<void> {
    // Follows joining now read their lines before this read's state: its status is no older than theirs.
    if (this.live.size === 0) this.position = Math.min(...[...this.joining].map((f) => f.after));
    for (const follower of this.joining) {
      if (follower.after < this.position) follower.settle('behind');
      else this.live.add(follower);
    }
    this.joining.clear();
    if (this.live.size === 0) return;
    try {
      const state = await readLogState(this.options.db, this.taskId);
      if (!state) return this.endAll(); // deleted while followed
      if (!state.log_expired_at) {
        while (this.position < state.log_count && this.live.size > 0) {
          const page = await this.readPage();
          if (page.length === 0) break;
          this.send(page);
        }
      }
      const events = stateEvents(state);
      for (const follower of this.live) {
        if (follower.sendState(events, state.status)) {
          this.live.delete(follower);
          follower.settle('done');
        }
      }
    } catch (error) {
      // The database is away: the follows hold their place (and their clients, with keep-alive
      // lines) and read on once it answers, rather than ending early or with a 500.
      if (isDatabaseUnavailable(error)) return;
      for (const follower of this.live) follower.fail(error);
      this.live.clear();
    }
  }

  /** Chunks from `position + 1` on: those this replica just stored, else from the database. */
  private async readPage(): Promise<StoredChunk[]> {
    const recent = this.options.recentChunks?.from(this.taskId, this.position + 1, this.options.pageBytes) ?? [];
    if (recent.length > 0) return recent;
    return (await readLogChunks(this.options.db, this.taskId, this.position, { maxBytes: this.options.pageBytes })).chunks;
  }

  /** Queues each chunk for every live follow, its text made once per format; a follow too far behind its client is handed back. */
  private send(chunks: StoredChunk[]): void {
    for (const chunk of chunks) {
      const last = chunk.first + chunk.lines - 1;
      const shared = new Map<string, Uint8Array>();
      for (const follower of this.live) {
        if (follower.after >= last) continue;
        if (follower.backlog > this.options.bufferBytes) {
          this.live.delete(follower);
          follower.settle('behind');
          continue;
        }
        let bytes: Uint8Array | undefined;
        if (follower.after < chunk.first) {
          bytes = shared.get(follower.format.key);
          if (!bytes) shared.set(follower.format.key, (bytes = encode(follower.format.text([chunk]))));
        } else {
          // Joined ahead of the reader (its own read went further): the rest of the chunk.
          bytes = encode(follower.format.text([chunkFrom(chunk, follower.after + 1)]));
        }
        follower.send(bytes);
        follower.after = last;
      }
      this.position = last;
    }
  }

  /** The task is gone: its follows end, with no `end` (as a follow of a deleted task always did). */
  private endAll(): void {
    for (const follower of this.live) follower.settle('done');
    this.live.clear();
  }
}

/**
 * The log follows of this replica (`…/logs/follow`, `…/logs/chunks/follow`). A follow first
 * reads the task's state and catches up on its own, in bounded pages at its client's pace; at
 * the end of the log it joins its task's shared reader (`TaskReader`), so a task followed N
 * times costs one state read and one read of new lines per change, not N.
 */
export class FollowHub {
  private readonly readers = new Map<string, TaskReader>();

  constructor(private readonly options: FollowHubOptions) {}

  /** Tasks followed now (one reader each). */
  get tasksFollowed(): number {
    return this.readers.size;
  }

  /** Bytes waiting for clients, all follows together (bounded: `bufferBytes` and a chunk each). */
  get bufferedBytes(): number {
    let bytes = 0;
    for (const reader of this.readers.values()) bytes += reader.backlog;
    return bytes;
  }

  /**
   * Resolves once this replica's follows of the task at the live edge have read what was stored
   * before the call (its end, say), or after `maxMs`; at once when it has none.
   */
  read(taskId: string, maxMs: number): Promise<void> {
    const reader = this.readers.get(taskId);
    if (!reader) return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([reader.nextRead(), new Promise<void>((resolve) => (timer = setTimeout(resolve, maxMs)))]).finally(() => clearTimeout(timer));
  }

  /**
   * Sends the task's log after `after` to `sink` as NDJSON: lines or chunks, `status` changes,
   * blank keep-alive lines, and one `end` once the log is complete; resolves when the follow is
   * over (ended, the task deleted, or `stop` aborted).
   */
  async follow(taskId: string, after: number, format: FollowFormat, sink: FollowSink, stop: AbortSignal): Promise<void> {
    let reader = this.readers.get(taskId);
    if (!reader) {
      const created = new TaskReader(taskId, this.options, () => {
        if (this.readers.get(taskId) === created) this.readers.delete(taskId);
      });
      this.readers.set(taskId, (reader = created));
    }
    const follower = new Follower(after, format, sink, this.options.keepAliveMs);
    reader.add(follower);
    const onStop = () => follower.stop();
    stop.addEventListener('abort', onStop);
    if (stop.aborted) follower.stop();
    try {
      await this.run(reader, follower);
      await follower.flushed();
    } finally {
      stop.removeEventListener('abort', onStop);
      reader.remove(follower);
    }
  }

  private async run(reader: TaskReader, follower: Follower): Promise<void> {
    const { db, pollMs } = this.options;
    let started = false;
    let handedBack = false;
    while (!follower.stopped) {
      // A follow the reader handed back may have missed a state the reader read (its `end`):
      // it asks for a read at once when it joins again.
      const changes = handedBack ? -1 : reader.changes;
      try {
        if (!started) {
          // Status first: every line stored before it is in the reads below. Nothing of an
          // expired log is sent (what is left of it is being deleted).
          const state = await readLogState(db, reader.taskId);
          if (!state) return; // no such task (deleted)
          if (!state.log_expired_at) await this.catchUp(reader.taskId, follower);
          if (follower.stopped || follower.sendState(stateEvents(state), state.status)) return;
          started = true;
        } else {
          await this.catchUp(reader.taskId, follower);
          if (follower.stopped) return;
        }
        if ((await reader.join(follower, changes)) === 'done') return;
        handedBack = true;
      } catch (error) {
        // As the shared reader: hold on while the database is away.
        if (!isDatabaseUnavailable(error)) throw error;
        follower.keepAlive(Date.now());
        await follower.pause(pollMs);
      }
    }
  }

  /** The follow's own reads, a page at a time, each taken by its client before the next. */
  private async catchUp(taskId: string, follower: Follower): Promise<void> {
    for (;;) {
      const { chunks, more } = await readLogChunks(this.options.db, taskId, follower.after, follower.format.page);
      if (follower.stopped) return;
      const last = chunks.at(-1);
      if (last) {
        follower.send(encode(follower.format.text(chunks)));
        follower.after = last.first + last.lines - 1;
      }
      await follower.flushed();
      if (!more || follower.stopped) return;
    }
  }
}
