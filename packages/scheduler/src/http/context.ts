import type { Kysely } from 'kysely';
import type { Context } from 'hono';
import type { AuthFailures } from '../auth/auth-failures.js';
import type { TokenWatch } from '../auth/token-watch.js';
import type { Principal } from '../auth/tokens.js';
import type { DatabaseKind } from '../db/client.js';
import type { Database } from '../db/schema.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import type { RecentChunks } from '../logs/recent-chunks.js';
import type { FollowHub } from '../logs/follow-hub.js';
import type { SecretBox } from '../secrets/secret-box.js';
import type { StreamLimits } from './stream-limits.js';
import type { SchedulerMetrics } from '../metrics/scheduler-metrics.js';
import type { OpenedCopy } from '../copies/copy-broker.js';
import type { TaskWithApp } from '../tasks/task-view.js';

/** What the HTTP app needs from the outside world; tests pass their own. */
export interface AppDeps {
  db: Kysely<Database>;
  dbKind: DatabaseKind;
  signals: TaskSignals;
  /** Ends open streams of a token when it is revoked. */
  tokenWatch: TokenWatch;
  version: string;
  /** Whether the database answers now: null if it does, else why not (for /healthz). */
  checkDatabase: () => Promise<string | null>;
  /** How often a log follower re-reads the database when nothing woke it. */
  followPollMs?: number;
  /** How long a log follow may stay silent before a blank keep-alive line. */
  followKeepAliveMs?: number;
  /** Bytes a log follow's client may leave waiting before it catches up on reads of its own (follow-hub.ts). */
  followBufferBytes?: number;
  /** The replica's count of open streams, shared with its console upgrades (one with the default caps if absent). */
  streamLimits?: StreamLimits;
  /** Failed authentications per address, shared with the websocket upgrades (one is made if absent). */
  authFailures?: AuthFailures;
  /** An agent was revoked, deleted or changed: this replica's gateway acts on it now (others within a second). */
  agentChanged?: (name: string) => Promise<void>;
  /** The replica's log follows, shared with the dashboard's live logs (logs/routes.ts makes one if absent). */
  followHub?: FollowHub;
  /** A dashboard session was signed out here: its live sockets close (dashboard/browser-socket.ts). */
  dashboardSessionEnded?: (sessionId: string) => void;
  /** Log chunks this replica's gateway stored last: a follow takes them from here when it can. */
  recentChunks?: RecentChunks;
  /** TAPIT_TASK_FILES_MAX_BYTES: the bytes a task's `--file`s hold at most, together (MAX_TASK_FILES_BYTES if absent). */
  taskFilesMaxBytes?: number;
  /** `tapit cp`: opens a copy from a task's container through its agent on this replica (copies/copy-broker.ts). */
  openCopy?: (task: TaskWithApp, path: string) => Promise<OpenedCopy>;
  /** A kept container (keep=DURATION) of a deleted task: its agent, if connected here, removes it now. */
  removeContainer?: (agent: string, taskId: string) => void;
  /** Seals and opens the secrets kept at rest (secrets/secret-box.ts). */
  secrets: SecretBox;
  /** Counts the requests by route and code (tapit_http_requests_total); none in most tests. */
  metrics?: SchedulerMetrics;
}

export type HonoEnv = {
  Variables: {
    principal: Principal;
    /** The request's X-Initiated-By (http/initiated-by.ts), for its audit events. */
    initiatedBy: string | null;
  };
};

/** The client's address, when served by node (absent under app.request() in tests). */
export function clientAddress(c: Context): string | null {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? null;
}
