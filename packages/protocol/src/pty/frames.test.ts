import { describe, expect, it } from 'vitest';
import { ConsoleChannel, ConsoleClientFrame, ConsoleServerFrame, OpenConsoleQuery, decodeConsoleData, encodeConsoleData } from './frames.js';

describe('console data messages', () => {
  it('carry their channel in the first byte and the bytes unchanged', () => {
    const bytes = new Uint8Array([0x1b, 0x5b, 0x41, 0x00, 0xff]);
    const message = encodeConsoleData(ConsoleChannel.stderr, bytes);
    expect(message[0]).toBe(2);
    expect(decodeConsoleData(message)).toEqual({ channel: ConsoleChannel.stderr, data: bytes });
  });

  it('refuse an unknown channel', () => {
    expect(decodeConsoleData(new Uint8Array([7, 65]))).toBeUndefined();
  });
});

describe('console control frames', () => {
  it('refuse a resize out of range, naming the field', () => {
    const result = ConsoleClientFrame.safeParse({ type: 'resize', cols: 0, rows: 24 });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual(['cols']);
  });

  it('refuse a server frame of a client type', () => {
    expect(ConsoleServerFrame.safeParse({ type: 'detach' }).success).toBe(false);
  });

  it('parse the open query with defaults', () => {
    expect(OpenConsoleQuery.parse({})).toEqual({ cols: 80, rows: 24, tty: '1' });
    expect(OpenConsoleQuery.parse({ cols: '120', rows: '40', tty: '0', command: '["ls"]' })).toEqual({ cols: 120, rows: 40, tty: '0', command: '["ls"]' });
    expect(OpenConsoleQuery.safeParse({ tty: 'yes' }).success).toBe(false);
  });
});
