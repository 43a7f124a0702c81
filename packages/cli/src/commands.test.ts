import { readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './commands.js';

const COMMANDS_DIR = fileURLToPath(new URL('./commands', import.meta.url));

/** oclif's id for a command file: its path under commands/, `index` naming the folder itself. */
function idOf(file: string): string {
  const parts = relative(COMMANDS_DIR, file).replace(/\.ts$/, '').split(sep);
  if (parts[parts.length - 1] === 'index') parts.pop();
  return parts.join(':');
}

function commandFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return commandFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('COMMANDS', () => {
  it('lists every command file under its oclif id, with the class that file exports', async () => {
    const files = commandFiles(COMMANDS_DIR);
    expect(files.length).toBeGreaterThan(20);
    const expected: Record<string, unknown> = {};
    for (const file of files) expected[idOf(file)] = ((await import(file)) as { default: unknown }).default;
    expect(Object.keys(COMMANDS).sort()).toEqual(Object.keys(expected).sort());
    for (const [id, command] of Object.entries(COMMANDS)) expect(command, id).toBe(expected[id]);
  });
});
