import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { CliError } from './errors.js';

/** What `tapit login` stores: the scheduler's URL and an API token. */
export const StoredLogin = z.object({ url: z.url(), token: z.string().min(1) });
export type StoredLogin = z.infer<typeof StoredLogin>;

/** `$XDG_CONFIG_HOME/tapit/config.json`, else `~/.config/tapit/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'tapit', 'config.json');
}

/** The stored login, or null when there is none. A damaged file is an error, not silently ignored. */
export async function readLogin(path: string = configPath()): Promise<StoredLogin | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const result = StoredLogin.safeParse(parsed);
  if (!result.success) throw new CliError(`${path} is damaged: run tapit login again`);
  return result.data;
}

/** Writes the login readable by the user only (0600): the token is a secret. */
export async function writeLogin(login: StoredLogin, path: string = configPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file; an older file keeps its mode otherwise.
  await chmod(path, 0o600);
}
