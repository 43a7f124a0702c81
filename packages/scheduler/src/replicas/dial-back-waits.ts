import type { WebSocket } from 'ws';

/** How long an agent has to dial back a websocket it was asked for (a console, a copy). */
export const AGENT_DIAL_BACK_MS = 15_000;

/**
 * Websockets this replica asked an agent to dial back, by id: which agent was asked, and the
 * promise its socket resolves (undefined once the time is up).
 */
export class DialBackWaits {
  private readonly waiting = new Map<string, { agent: string; deliver: (ws: WebSocket) => void }>();

  /** Waits for `agent` to dial back `id`; call before asking it, so no answer comes early. */
  expect(id: string, agent: string, ms = AGENT_DIAL_BACK_MS): Promise<WebSocket | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(undefined);
      }, ms);
      this.waiting.set(id, {
        agent,
        deliver: (ws) => {
          clearTimeout(timer);
          this.waiting.delete(id);
          resolve(ws);
        },
      });
    });
  }

  /** The agent `id` waits for, if it waits. */
  agentOf(id: string): string | undefined {
    return this.waiting.get(id)?.agent;
  }

  deliver(id: string, ws: WebSocket): void {
    this.waiting.get(id)?.deliver(ws);
  }
}
