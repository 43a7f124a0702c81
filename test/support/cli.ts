import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { cleanEnv, REPO_ROOT } from './repo.js';

/** The `tapit` command as npm installs it: a launcher that runs bin/tapit.cjs with the node on PATH. */
export const TAPIT_COMMAND = join(REPO_ROOT, 'packages/cli/bin/tapit');

/**
 * The CLI's environment: `extra` over the test's own (no TAPIT_*), with the node running the tests
 * first on PATH, so that the launcher runs that one (the suite runs on Node 24 as well).
 */
export function cliProcessEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = cleanEnv(extra);
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${env.PATH ?? ''}` };
}

/** Puts `tapit` on a PATH as an install does: a `tapit` in `dir` that runs the launcher with the tests' node. */
export async function installTapitIn(dir: string): Promise<void> {
  await writeFile(join(dir, 'tapit'), `#!/bin/sh\nPATH="${dirname(process.execPath)}${delimiter}$PATH" exec "${TAPIT_COMMAND}" "$@"\n`);
  await chmod(join(dir, 'tapit'), 0o755);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment, e.g. from `cliEnv(scheduler)`; the caller's TAPIT_* are never passed. */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Written to its stdin (a pipe), which is then closed; without it stdin is /dev/null. */
  input?: string;
}

/** TAPIT_URL and TAPIT_TOKEN for a scheduler, and a config folder of its own so no login leaks in. */
export function cliEnv(scheduler: { url: string; token: string }, configHome: string): Record<string, string> {
  return { TAPIT_URL: scheduler.url, TAPIT_TOKEN: scheduler.token, XDG_CONFIG_HOME: configHome };
}

/** A running `tapit` process whose output can be waited for (to send it Ctrl-C at the right moment). */
export interface CliProcess {
  child: ChildProcess;
  /** Resolves once stdout or stderr matches; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<void>;
  result: Promise<CliResult>;
}

/** Starts the built CLI (`tapit ARGS`, through its launcher) from the repository root. */
export function startCli(args: readonly string[], options: CliOptions = {}): CliProcess {
  const child = spawn(TAPIT_COMMAND, args, {
    cwd: REPO_ROOT,
    env: cliProcessEnv(options.env),
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin?.end(options.input);
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve(): void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(stdout) || waiter.pattern.test(stderr)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  // Decoded as a stream: a character cut between two reads of the pipe stays whole.
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    check();
  });
  const timeoutMs = options.timeoutMs ?? 30_000;
  const result = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tapit ${args.join(' ')} did not finish within ${timeoutMs} ms\nstdout: ${stdout.slice(-4000)}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  const waitFor = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      waiters.push({ pattern, resolve });
      check();
      void result.then(
        () => reject(new Error(`tapit ended before printing ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`)),
        reject,
      );
    });
  return { child, waitFor, result };
}

/** Runs the built CLI to the end and returns its exit code and output. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

/** `'it''s'` quoting for sh. */
const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the built CLI with its stdout on a real pseudo-terminal, as in a user's shell: script(1)
 * (util-linux) allocates it and copies what was written there to our stdout (with the terminal's
 * `\n` → `\r\n`). stderr goes to a pipe of its own, so only stdout is on the terminal.
 */
export function runCliOnTerminal(args: readonly string[], options: CliOptions & { answers?: { when: RegExp; type: string }[] } = {}): Promise<CliResult> {
  const command = `${[TAPIT_COMMAND, ...args].map(shellQuote).join(' ')} 2>&3`;
  const child = spawn('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    cwd: REPO_ROOT,
    env: cliProcessEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
  });
  // Typed only once its prompt shows: typed earlier, the terminal would echo it before the CLI
  // could turn echo off, as it would for a person typing ahead.
  const answers = [...(options.answers ?? [])];
  if (answers.length === 0) child.stdin?.end();
  let stdout = '';
  let stderr = '';
  const answer = () => {
    while (answers.length > 0 && (answers[0]!.when.test(stdout) || answers[0]!.when.test(stderr))) {
      child.stdin?.write(answers.shift()!.type);
      if (answers.length === 0) child.stdin?.end();
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    answer();
  });
  for (const stream of [child.stdio[3], child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      answer();
    });
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tapit ${args.join(' ')} on a terminal did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: stdout.replace(/\r\n/g, '\n'), stderr });
    });
  });
}
