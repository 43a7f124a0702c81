import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLOSE_BAD_REQUEST, CLOSE_SIGNED_OUT } from '../../browser-socket.js';
import { openLiveSocket } from './live-socket.js';

/** A browser WebSocket stand-in: records what was opened; the test closes it as the server would. */
class FakeSocket {
  static opened: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.opened.push(this);
  }
  close(): void {}
  serverCloses(code: number, reason = ''): void {
    this.onclose?.({ code, reason });
  }
}

describe('openLiveSocket (the pages’ websocket)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    FakeSocket.opened = [];
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal('location', { protocol: 'http:', host: 'tapit.example:7700' });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.useRealTimers();
  });

  it('shows why the server refused it (4400, as the server closes it) and does not open it again', () => {
    const ends: string[] = [];
    openLiveSocket({ path: '/live/tasks', onMessage: () => {}, onEnd: (why) => ends.push(why) });
    expect(FakeSocket.opened.map((s) => s.url)).toEqual(['ws://tapit.example:7700/live/tasks']);
    FakeSocket.opened[0]!.serverCloses(CLOSE_BAD_REQUEST, 'status: must be one of …');
    vi.advanceTimersByTime(60_000);
    expect(ends).toEqual(['status: must be one of …']);
    expect(FakeSocket.opened).toHaveLength(1);
  });

  it('says the session ended (4401) and does not open it again', () => {
    const ends: string[] = [];
    openLiveSocket({ path: '/live/tasks', onMessage: () => {}, onEnd: (why) => ends.push(why) });
    FakeSocket.opened[0]!.serverCloses(CLOSE_SIGNED_OUT, 'signed out');
    vi.advanceTimersByTime(60_000);
    expect(ends).toEqual(['Signed out: signed out. Reload the page to sign in again.']);
    expect(FakeSocket.opened).toHaveLength(1);
  });

  it('opens a dropped socket again, after a pause that grows', () => {
    openLiveSocket({ path: '/live/tasks', onMessage: () => {} });
    FakeSocket.opened[0]!.serverCloses(1006);
    vi.advanceTimersByTime(499);
    expect(FakeSocket.opened).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.opened).toHaveLength(2);
    FakeSocket.opened[1]!.serverCloses(1006);
    vi.advanceTimersByTime(999);
    expect(FakeSocket.opened).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(FakeSocket.opened).toHaveLength(3);
  });
});
