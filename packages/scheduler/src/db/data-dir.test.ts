import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from './client.js';
import { DataDirError } from './data-dir.js';

/** Every mode below `dir` that is not 0600 for a file or 0700 for a folder. */
function looseModes(dir: string): string[] {
  const loose: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    const stat = statSync(path);
    const mode = stat.mode & 0o777;
    if (mode !== (stat.isDirectory() ? 0o700 : 0o600)) loose.push(`${path} ${mode.toString(8)}`);
    if (stat.isDirectory()) loose.push(...looseModes(path));
  }
  return loose;
}

describe('the embedded database folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'tapit-data-dir-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is refused when other users may open it, with how to fix it', async () => {
    const open = join(root, 'open');
    mkdirSync(open, { mode: 0o755 });
    const error = await openDatabase({ dataDir: open }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirError);
    expect((error as Error).message).toBe(`TAPIT_DATA_DIR ${open} is open to other users (mode 0755): run \`chmod 700 ${open}\`; the scheduler then makes the files in it 0600`);
    expect(readdirSync(open)).toEqual([]);
  });

  it('is created 0700 with every file in it 0600, is locked while open, and a stale lock is taken over', async () => {
    const dir = join(root, 'new', 'scheduler');
    const database = await openDatabase({ dataDir: dir });
    try {
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(statSync(join(root, 'new')).mode & 0o777).toBe(0o700);
      expect(looseModes(dir)).toEqual([]);
      // Two processes on one PGlite folder corrupt it: a second open is refused while this one holds it.
      const second = await openDatabase({ dataDir: dir }).then(() => undefined, (e: unknown) => e);
      expect(second).toBeInstanceOf(DataDirError);
      expect((second as Error).message).toContain(`is in use by process ${process.pid}`);
    } finally {
      await database.close();
    }
    // A lock left by a process that is gone (here: a pid that cannot exist) does not lock anyone out.
    writeFileSync(join(dir, 'tapit-scheduler.lock'), '4194304 1');
    const again = await openDatabase({ dataDir: dir });
    await again.close();
  });
});
