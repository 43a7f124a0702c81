import type { Kysely } from 'kysely';
import type { ConsoleBroker } from '../consoles/broker.js';
import type { Database } from '../db/schema.js';
import { TaskChanges } from '../tasks/task-changes.js';
import type { TaskSignals } from '../tasks/task-signals.js';
import { BrowserSockets, type BrowserSocketDeps } from './browser-socket.js';
import { consoleSocket, DASHBOARD_CONSOLE_SOCKET } from './console-sockets.js';
import { liveTask } from './live-task.js';
import { liveTasks } from './live-tasks.js';
import type { FollowHub } from '../logs/follow-hub.js';

export interface DashboardSocketDeps extends BrowserSocketDeps {
  db: Kysely<Database>;
  signals: TaskSignals;
  /** The replica's log follows (shared with the API's). */
  followHub: FollowHub;
  /** How often the live listing reads what other replicas changed. */
  pollMs?: number;
  /** The console pages' sockets are its sessions, as the CLI's (console-sockets.ts). */
  consoles: ConsoleBroker;
}

/**
 * The dashboard's websockets, at their paths (server.ts hands every upgrade to `handleUpgrade`
 * before answering 404). Each page's socket adds its route here.
 */
export function dashboardSockets(deps: DashboardSocketDeps): BrowserSockets {
  const changes = new TaskChanges(deps.db, deps.signals, deps.pollMs ?? 500, (error) => deps.log(`live task listing: ${String(error)}`, 'error'));
  return new BrowserSockets(deps)
    .route(/^\/live\/tasks$/, liveTasks({ db: deps.db, changes }))
    .route(/^\/live\/tasks\/([^/]+)$/, liveTask({ db: deps.db, followHub: deps.followHub }))
    .route(DASHBOARD_CONSOLE_SOCKET, consoleSocket(deps.consoles));
}
