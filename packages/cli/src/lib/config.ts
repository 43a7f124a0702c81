import { readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CliError } from './errors.js';

/** What `tapit login` stores: the scheduler's URL and an API token. */
export interface StoredLogin {
  url: string;
  token: string;
}

/** `$XDG_CONFIG_HOME/tapit/config.json`, else `~/.config/tapit/config.json`. */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(homedir(), '.config');
  return join(base, 'tapit', 'config.json');
}

/** The stored login, or null when there is none. A damaged file is an error, not silently ignored. */
export async function readLogin(path: string = configPath()): Promise<StoredLogin | null> {
  return readLoginSync(path);
}

/**
 * The same, read at once: the CLI's early start (src/early/) sends its request before anything
 * else runs, and checks the file by these same rules, without zod, which it does not load.
 */
export function readLoginSync(path: string = configPath()): StoredLogin | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  const login = storedLogin(safeJson(text));
  if (!login) throw new CliError(`${path} is damaged: run tapit login again`);
  return login;
}

/** A URL and a token, and nothing else worth keeping from the file. */
function storedLogin(value: unknown): StoredLogin | null {
  if (typeof value !== 'object' || value === null) return null;
  const { url, token } = value as Record<string, unknown>;
  if (typeof url !== 'string' || !URL.canParse(url) || typeof token !== 'string' || token === '') return null;
  return { url, token };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Writes the login readable by the user only (0600): the token is a secret. */
export async function writeLogin(login: StoredLogin, path: string = configPath()): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  // writeFile's mode applies only when it creates the file; an older file keeps its mode otherwise.
  await chmod(path, 0o600);
}
