/*
 * A page's websocket to its scheduler (dashboard/browser-socket.ts): same origin, authorized by
 * the session cookie the browser sends with it. JSON messages, one per frame. A dropped socket
 * is opened again after a pause that grows (the page reads its state anew on each open); one
 * closed because the session ended is not, and the page says so.
 */

/** dashboard/browser-socket.ts's close codes (live-socket.test.ts checks they agree). */
const CLOSE_SIGNED_OUT = 4401;
const CLOSE_BAD_REQUEST = 4400;

export interface LiveSocketOptions {
  /** Path and query on this origin, e.g. `/live/tasks?status=RUNNING`; asked again at each reconnect. */
  path: string | (() => string);
  onMessage(message: unknown): void;
  /** Each time the socket opens (the first time and after a reconnect). */
  onOpen?(): void;
  /** The socket ended for good: `why` for the page to show. */
  onEnd?(why: string): void;
  /** Whether to open it again after it closed normally (the server said all it had). */
  reconnectAfterClose?: () => boolean;
}

export function openLiveSocket(options: LiveSocketOptions): { close(): void } {
  let socket: WebSocket | undefined;
  let delayMs = 500;
  let closed = false;
  const open = () => {
    const path = typeof options.path === 'string' ? options.path : options.path();
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`);
    socket = ws;
    ws.onopen = () => {
      delayMs = 500;
      options.onOpen?.();
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      options.onMessage(message);
    };
    ws.onclose = (event) => {
      if (closed) return;
      if (event.code === CLOSE_SIGNED_OUT) return options.onEnd?.(`Signed out: ${event.reason || 'the session ended'}. Reload the page to sign in again.`);
      if (event.code === 1000 && !(options.reconnectAfterClose?.() ?? true)) return;
      if (event.code === CLOSE_BAD_REQUEST) return options.onEnd?.(event.reason);
      setTimeout(open, delayMs);
      delayMs = Math.min(delayMs * 2, 15_000);
    };
  };
  open();
  return {
    close() {
      closed = true;
      socket?.close();
    },
  };
}

/** A banner at the top of the main content (live updates stopped, and why). */
export function showNotice(text: string): void {
  let notice = document.getElementById('live-notice');
  if (!notice) {
    notice = document.createElement('p');
    notice.id = 'live-notice';
    notice.className = 'error';
    notice.setAttribute('role', 'status');
    document.querySelector('main')?.prepend(notice);
  }
  notice.textContent = text;
}

/** Elements parsed from the server's HTML (rendered by the same components as the page). */
export function parseHtml(html: string): DocumentFragment {
  const template = document.createElement('template');
  template.innerHTML = html;
  return template.content;
}
