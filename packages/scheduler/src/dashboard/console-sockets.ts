import { ApiError } from '../http/api-error.js';
import type { ConsoleBroker } from '../consoles/broker.js';
import type { BrowserSocketHandler } from './browser-socket.js';
import { isTaskReference, TASK_REFERENCE_RULE } from '../http/validate-references.js';

/** The dashboard's console sockets: `/tasks/ID/console/socket` (attach) and `/tasks/ID/exec/socket`. */
export const DASHBOARD_CONSOLE_SOCKET = /^\/tasks\/([^/]+)\/(console|exec)\/socket$/;

export const dashboardConsoleSocketPath = (taskId: string, mode: 'attach' | 'exec') => `/tasks/${taskId}/${mode === 'exec' ? 'exec' : 'console'}/socket`;

/**
 * A console page's socket: accepted by its session and Origin (browser-socket.ts), then handed
 * to the console broker with the session's token, which checks and relays exactly as for the
 * CLI's `/v1/tasks/ID/console` and `/exec` (role, project, task state, audit, recording).
 */
export function consoleSocket(consoles: ConsoleBroker): BrowserSocketHandler {
  return (socket, { request, principal, match }) => {
    // As for the CLI's upgrade: a malformed reference costs no lookup and is never echoed.
    if (!isTaskReference(match[1]!)) throw new ApiError('VALIDATION_FAILED', `task: ${TASK_REFERENCE_RULE}`, 'task');
    return consoles.serveBrowser(socket, request, principal, match[1]!, match[2] === 'exec' ? 'exec' : 'attach');
  };
}
