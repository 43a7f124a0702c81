import { BrowserSockets, type BrowserSocketDeps } from './browser-socket.js';

/**
 * The dashboard's websockets, at their paths (server.ts hands every upgrade to `handleUpgrade`
 * before answering 404). Each page's socket adds its route here.
 */
export function dashboardSockets(deps: BrowserSocketDeps): BrowserSockets {
  return new BrowserSockets(deps);
}
