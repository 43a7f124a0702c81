import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { RawTerminal, SHOW_CURSOR, type ProcessHooks, type RestoringSignal } from './raw-terminal.js';

function fakeTerminal(tty = true) {
  const calls: string[] = [];
  const input = new EventEmitter();
  const stdin = {
    isTTY: tty,
    isRaw: false,
    setRawMode(mode: boolean) {
      calls.push(`raw:${mode}`);
      stdin.isRaw = mode;
    },
    on: (event: 'data' | 'error', listener: () => void) => input.on(event, listener),
    off: (event: 'data' | 'error', listener: () => void) => input.off(event, listener),
    resume: () => void calls.push('resume'),
    pause: () => void calls.push('pause'),
    /** Bytes arriving from the terminal. */
    type: () => input.emit('data', Buffer.from('\x1b[24;5R')),
    readers: () => input.listenerCount('data') + input.listenerCount('error'),
    fail: () => input.emit('error', Object.assign(new Error('read EIO'), { code: 'EIO' })),
  };
  const stdout = { isTTY: tty, write: (text: string) => void calls.push(`write:${JSON.stringify(text)}`) };
  const proc = new EventEmitter();
  const terminal = new RawTerminal({ stdin, stdout }, proc as unknown as ProcessHooks);
  return { terminal, stdin, calls, proc };
}

const listeners = (proc: EventEmitter) =>
  ['exit', 'SIGINT', 'SIGTERM', 'SIGHUP'].reduce((sum, event) => sum + proc.listenerCount(event), 0);

describe('RawTerminal', () => {
  it('enters raw mode on a terminal and restores it (raw off, cursor shown) exactly once', () => {
    const { terminal, stdin, calls, proc } = fakeTerminal();
    terminal.enter(() => {});
    expect(stdin.isRaw).toBe(true);
    expect(listeners(proc)).toBe(4);
    terminal.restore();
    terminal.restore();
    expect(stdin.isRaw).toBe(false);
    expect(calls).toEqual(['raw:true', 'raw:false', `write:${JSON.stringify(SHOW_CURSOR)}`]);
    expect(listeners(proc)).toBe(0);
  });

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as RestoringSignal[])('restores the terminal before handing %s on', (signal) => {
    const { terminal, stdin, proc } = fakeTerminal();
    const seen: { signal: string; rawAtThatTime: boolean }[] = [];
    terminal.enter((s) => seen.push({ signal: s, rawAtThatTime: stdin.isRaw }));
    proc.emit(signal);
    expect(seen).toEqual([{ signal, rawAtThatTime: false }]);
    expect(listeners(proc)).toBe(0);
  });

  it('restores the terminal when the process exits for any other reason', () => {
    const { terminal, stdin, proc } = fakeTerminal();
    terminal.enter(() => {});
    proc.emit('exit', 1);
    expect(stdin.isRaw).toBe(false);
    expect(listeners(proc)).toBe(0);
  });

  it('leaves a terminal alone that was already raw before (it is not ours to change)', () => {
    const { terminal, stdin, calls } = fakeTerminal();
    stdin.isRaw = true;
    terminal.enter(() => {});
    terminal.restore();
    expect(stdin.isRaw).toBe(true);
    expect(calls.filter((c) => c.startsWith('raw:'))).toEqual([]);
  });

  it('touches neither raw mode nor the cursor when stdin and stdout are pipes', () => {
    const { terminal, calls } = fakeTerminal(false);
    expect(terminal.isTerminal).toBe(false);
    terminal.enter(() => {});
    terminal.restore();
    expect(calls).toEqual([]);
  });

  it('survives a terminal that is already gone when restoring', () => {
    const { terminal, stdin } = fakeTerminal();
    terminal.enter(() => {});
    stdin.setRawMode = () => {
      throw new Error('EBADF');
    };
    expect(() => terminal.restore()).not.toThrow();
  });

  it('drops what the terminal still sends after the session, until it is quiet, before restoring', async () => {
    const { terminal, stdin, calls } = fakeTerminal();
    terminal.enter(() => {});
    const draining = terminal.discardPendingInput(30, 1000);
    // A cursor-position answer arriving just after the end, then another 20 ms later.
    stdin.type();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(stdin.readers()).toBe(2); // still reading (data, and error in case the terminal goes)
    stdin.type();
    await draining;
    expect(stdin.readers()).toBe(0);
    expect(stdin.isRaw).toBe(true); // still raw while draining: nothing was echoed or buffered for the shell
    terminal.restore();
    expect(calls).toEqual(['raw:true', 'resume', 'pause', 'raw:false', `write:${JSON.stringify(SHOW_CURSOR)}`]);
  });

  it('stops draining a terminal that never goes quiet after the longest wait', async () => {
    const { terminal, stdin } = fakeTerminal();
    terminal.enter(() => {});
    const typing = setInterval(() => stdin.type(), 5);
    // Would never resolve (the test times out) without the cap.
    await terminal.discardPendingInput(30, 100);
    clearInterval(typing);
    expect(stdin.readers()).toBe(0);
  });

  it('stops draining, without an unhandled error, when the terminal goes away', async () => {
    const { terminal, stdin } = fakeTerminal();
    terminal.enter(() => {});
    const draining = terminal.discardPendingInput(30, 10_000);
    stdin.fail();
    await draining;
    expect(stdin.readers()).toBe(0);
  });

  it('does not touch input it never made raw', async () => {
    const { terminal, stdin, calls } = fakeTerminal(false);
    terminal.enter(() => {});
    await terminal.discardPendingInput();
    expect(stdin.readers()).toBe(0);
    expect(calls).toEqual([]);
  });
});
