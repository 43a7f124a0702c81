import type { ConsoleBroker } from '../consoles/broker.js';
import { BrowserSockets, type BrowserSocketDeps } from './browser-socket.js';
import { consoleSocket, DASHBOARD_CONSOLE_SOCKET } from './console-sockets.js';

/**
 * The dashboard's websockets, at their paths (server.ts hands every upgrade to `handleUpgrade`
 * before answering 404). Each page's socket adds its route here.
 */
export function dashboardSockets(deps: BrowserSocketDeps & { consoles: ConsoleBroker }): BrowserSockets {
  return new BrowserSockets(deps).route(DASHBOARD_CONSOLE_SOCKET, consoleSocket(deps.consoles));
}
