/*
 * Just enough of the tar format (POSIX ustar, with pax headers for long paths) for what the
 * engine's archive endpoints take and give: `PUT /containers/ID/archive` (a task's files) and
 * `GET /containers/ID/archive` (`tapit cp`). No dependency for 80 lines.
 */

import { Transform, type TransformCallback } from 'node:stream';

const BLOCK = 512;

export interface TarFile {
  /** Path inside the archive, without a leading `/`. */
  name: string;
  mode: number;
  content: Buffer;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, mode: number, size: number, type: '0' | 'x', mtime: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(mode & 0o7777, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii'); // uid: root
  block.write(octal(0, 8), 116, 'ascii'); // gid: root
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(mtime, 12), 136, 'ascii');
  block.write('        ', 148, 'ascii');
  block.write(type, 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write('root', 265, 'ascii');
  block.write('root', 297, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148, 'ascii');
  return block;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** A pax record `LEN key=value\n`, LEN counting itself. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  const bytes = Buffer.byteLength(body);
  let length = bytes + String(bytes).length;
  if (String(length).length !== String(bytes).length) length = bytes + String(length).length;
  return Buffer.from(`${length}${body}`);
}

/** A tar of regular files owned by root (uid and gid 0) with their modes; the engine makes missing parent folders. */
export function tarOfFiles(files: readonly TarFile[], mtime = Math.floor(Date.now() / 1000)): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    if (Buffer.byteLength(file.name) > 100) {
      const pax = paxRecord('path', file.name);
      parts.push(header('PaxHeader', 0o644, pax.length, 'x', mtime), pax, padding(pax.length));
    }
    parts.push(header(file.name, file.mode, file.content.length, '0', mtime), file.content, padding(file.content.length));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/**
 * Reads the one regular file of a tar stream (what the engine's `GET …/archive` of a file gives)
 * and passes on its bytes only, as they come: the archive is never whole in memory. pax headers
 * before it are skipped; a tar without a regular file first is an error.
 */
export class TarFileReader extends Transform {
  private header = Buffer.alloc(0);
  /** Bytes of the current entry still to pass (file) or skip (pax header), and its padding after. */
  private left = 0;
  private pad = 0;
  private passing = false;
  private done = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let at = 0;
    while (at < chunk.length && !this.done) {
      if (this.left > 0) {
        const take = Math.min(this.left, chunk.length - at);
        if (this.passing) this.push(chunk.subarray(at, at + take));
        this.left -= take;
        at += take;
        if (this.left === 0 && this.passing) this.done = true;
        continue;
      }
      if (this.pad > 0) {
        const skip = Math.min(this.pad, chunk.length - at);
        this.pad -= skip;
        at += skip;
        continue;
      }
      const need = BLOCK - this.header.length;
      this.header = Buffer.concat([this.header, chunk.subarray(at, at + need)]);
      at += Math.min(need, chunk.length - at);
      if (this.header.length < BLOCK) continue;
      const block = this.header;
      this.header = Buffer.alloc(0);
      const type = String.fromCharCode(block[156]!);
      const size = parseInt(block.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
      if (block.every((b) => b === 0)) return callback(new Error('the archive holds no file'));
      if (type === 'x' || type === 'g') {
        this.left = size;
        this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
        this.passing = false;
        if (size === 0) this.pad = 0;
        continue;
      }
      if (type !== '0' && type !== '\0') return callback(new Error(`the path is not a regular file (tar type ${JSON.stringify(type)})`));
      this.passing = true;
      this.left = size;
      if (size === 0) this.done = true;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    callback(this.done ? null : new Error('the archive ended before the file did'));
  }
}
