import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { installTapitIn } from './cli.js';
import { cleanEnv } from './repo.js';

const run = promisify(execFile);

/**
 * A real pseudo-terminal for driving the built CLI as a person would: a tmux server of its own
 * (its own socket name, so only it is ever killed) with one 80x24 window running bash, where
 * `tapit` is the built CLI.
 */
export interface Tmux {
  socket: string;
  /** Types text literally, then Enter. */
  line(text: string): Promise<void>;
  /** tmux key names, e.g. 'C-c', 'C-p', 'Enter'. */
  keys(...keys: string[]): Promise<void>;
  /** The visible screen (and `history` lines above it), trailing blanks trimmed. */
  screen(history?: number): Promise<string>;
  /** Polls the screen until it matches; throws with the screen when the time is up, or at once when `failOn` shows. */
  waitFor(pattern: RegExp, timeoutMs?: number, failOn?: RegExp): Promise<string>;
  resize(cols: number, rows: number): Promise<void>;
  /** Pid of the program running in the foreground of the shell (the CLI), if any. */
  foregroundPid(): Promise<number | undefined>;
  /** Clears screen and history, so a later waitFor only sees what came after. */
  clear(): Promise<void>;
  kill(): Promise<void>;
}

export async function startTmux(env: Record<string, string>, cols = 80, rows = 24): Promise<Tmux> {
  const socket = `tapit-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  const bin = await mkdtemp(join(tmpdir(), 'tapit-tmux-'));
  await installTapitIn(bin);
  const shellEnv = cleanEnv({ ...env, PATH: `${bin}:${process.env.PATH ?? ''}`, PS1: '$ ', HISTFILE: '/dev/null' });
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, '-f', '/dev/null', ...args], { env: shellEnv });
  await tmux('new-session', '-d', '-s', 'main', '-x', String(cols), '-y', String(rows), 'bash', '--norc', '--noprofile');
  await tmux('set-option', '-g', 'history-limit', '5000');
  const screen = async (history = 0) => {
    // -J joins lines the terminal wrapped, so a long message matches as one line.
    const args = ['capture-pane', '-p', '-J', '-t', 'main'];
    if (history > 0) args.push('-S', String(-history));
    const { stdout } = await tmux(...args);
    return stdout.replace(/\s+$/, '');
  };
  const self: Tmux = {
    socket,
    async line(text) {
      await tmux('send-keys', '-t', 'main', '-l', text);
      await tmux('send-keys', '-t', 'main', 'Enter');
    },
    async keys(...keys) {
      await tmux('send-keys', '-t', 'main', ...keys);
    },
    screen,
    async waitFor(pattern, timeoutMs = 20_000, failOn) {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        last = await screen(200);
        if (pattern.test(last)) return last;
        if (failOn?.test(last)) throw new Error(`the terminal showed ${failOn} while waiting for ${pattern}:\n${last}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`the terminal did not show ${pattern} within ${timeoutMs} ms; it shows:\n${last}`);
    },
    async resize(c, r) {
      await tmux('resize-window', '-t', 'main', '-x', String(c), '-y', String(r));
    },
    async foregroundPid() {
      const { stdout } = await tmux('display-message', '-p', '-t', 'main', '#{pane_pid}');
      const shell = Number(stdout.trim());
      const children = await run('pgrep', ['-P', String(shell)]).then((r) => r.stdout, () => '');
      const pid = Number(children.split('\n').filter(Boolean).pop());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    },
    async clear() {
      await tmux('send-keys', '-t', 'main', '-l', 'clear');
      await tmux('send-keys', '-t', 'main', 'Enter');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tmux('clear-history', '-t', 'main');
    },
    async kill() {
      await tmux('kill-server').catch(() => {});
      await rm(bin, { recursive: true, force: true });
    },
  };
  return self;
}

/** `stty -a` says the terminal is cooked again: canonical input and echo on. */
export function saneStty(screen: string): boolean {
  const words = new Set(screen.split(/[\s;]+/));
  return words.has('icanon') && words.has('echo') && !words.has('-icanon') && !words.has('-echo');
}
