import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { TarFileReader, tarOfFiles } from './tar-archive.js';

async function readThrough(tar: Buffer, pieceBytes: number): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < tar.length; at += pieceBytes) pieces.push(tar.subarray(at, at + pieceBytes));
  return buffer(Readable.from(pieces).pipe(new TarFileReader()));
}

describe('tar archives', () => {
  const bytes = Buffer.concat([Buffer.from([0, 0xff, 0xc3, 0x28]), randomBytes(5000)]);

  it.each([1, 7, 512, 100_000])('gives back the one file of a tar byte for byte, read in pieces of %i bytes', async (piece) => {
    expect((await readThrough(tarOfFiles([{ name: 'data.bin', mode: 0o644, content: bytes }]), piece)).equals(bytes)).toBe(true);
  });

  it('skips a pax header (a long path) before the file', async () => {
    const tar = tarOfFiles([{ name: `${'d'.repeat(150)}/data.bin`, mode: 0o644, content: bytes }]);
    expect(tar.subarray(156, 157).toString()).toBe('x');
    expect((await readThrough(tar, 300)).equals(bytes)).toBe(true);
  });

  it('gives an empty file as nothing, and fails on a cut archive', async () => {
    expect((await readThrough(tarOfFiles([{ name: 'empty', mode: 0o644, content: Buffer.alloc(0) }]), 512)).length).toBe(0);
    const cut = tarOfFiles([{ name: 'data.bin', mode: 0o644, content: bytes }]).subarray(0, 2000);
    await expect(readThrough(cut, 512)).rejects.toThrow(/ended before the file did/);
  });
});
