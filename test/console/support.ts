import { expect } from 'vitest';
import { saneStty, type Tmux } from '../support/tmux.js';

/** The CLI gave up (the task did not start, the session was refused or broke). */
export const CLI_FAILED = /^(Error: |Task stopped: |Lost the connection)/m;

/** Waits for the remote shell to answer (keystrokes typed before it is up are held, not lost). */
export async function remoteReady(tmux: Tmux, tag: string, timeoutMs = 40_000): Promise<void> {
  await tmux.line(`echo ready-${tag}-$((40+2))`);
  await tmux.waitFor(new RegExp(`^ready-${tag}-42`, 'm'), timeoutMs, CLI_FAILED);
}

/** The task id the CLI printed (`ID:   …`). */
export async function printedId(tmux: Tmux): Promise<string> {
  const screen = await tmux.waitFor(/ID:\s+[0-9a-f]{32}/, 20_000);
  return /ID:\s+([0-9a-f]{32})/.exec(screen)![1]!;
}

/** After the CLI ended: its exit code as the local shell saw it. */
export async function localExitCode(tmux: Tmux): Promise<number> {
  // Keys typed before the CLI is gone would go to it: wait for the local prompt first.
  await tmux.waitFor(/(^|\n)\$$/);
  await tmux.line('echo "rc=$?"');
  const screen = await tmux.waitFor(/^rc=\d+$/m);
  return Number(/^rc=(\d+)$/m.exec(screen)![1]);
}

/** The local terminal is cooked again (icanon, echo) once the CLI is gone. */
export async function expectSaneTerminal(tmux: Tmux): Promise<void> {
  await tmux.clear();
  await tmux.line('stty -a; echo stty-done');
  const screen = await tmux.waitFor(/^stty-done$/m);
  expect(saneStty(screen), screen).toBe(true);
}
