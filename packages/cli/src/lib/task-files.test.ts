import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from './errors.js';
import { readTaskFiles } from './task-files.js';

describe('readTaskFiles (--file LOCAL:/PATH)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tapit-files-'));
  const bytes = Buffer.from([0, 1, 0xff, 0xfe, 0xc3, 0x28, 10]);
  const local = join(dir, 'data:with-colon.bin');
  writeFileSync(local, bytes);
  chmodSync(local, 0o751);

  it('reads the bytes and mode, splitting at the last `:/`', () => {
    expect(readTaskFiles([`${local}:/in/data.bin`])).toStrictEqual([{ path: '/in/data.bin', mode: 0o751, content: bytes.toString('base64') }]);
    expect(readTaskFiles(undefined)).toBeUndefined();
  });

  it.each([
    [`${local}`, /must be LOCAL:\/PATH/],
    [`${local}:in/relative`, /must be LOCAL:\/PATH/],
    [`${local}:/in/../etc`, /container path must be an absolute path/],
    [`${join(dir, 'missing')}:/x`, /cannot read .*missing \(ENOENT\)/],
    [`${dir}:/x`, /is not a regular file/],
  ])('refuses %s with a usage error', (value, message) => {
    expect(() => readTaskFiles([value])).toThrow(UsageError);
    expect(() => readTaskFiles([value])).toThrow(message);
  });

  it('refuses more bytes than the limit before reading any, and one path twice', () => {
    expect(() => readTaskFiles([`${local}:/a`, `${local}:/b`], bytes.length * 2 - 1)).toThrow(/hold 14 bytes; a task's files may hold at most 13 bytes/);
    expect(() => readTaskFiles([`${local}:/a`, `${local}:/a`])).toThrow(/\/a is given twice/);
  });
});
