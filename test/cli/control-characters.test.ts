import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliOnTerminal, type CliResult } from '../support/cli.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { idFrom, startSystem, type System } from '../support/system.js';

/*
 * Task output and task fields are the task's, not the user's: printed raw to a terminal, they
 * could write the user's clipboard (OSC 52), clear the screen, or forge a `[system]` line with a
 * carriage return. On a terminal the CLI shows control characters as \uXXXX; --raw, a pipe and
 * --json keep them.
 */
const ESC = '\u001b';
const C1_CSI = '\u009b';
/** What the task prints: OSC 52, a screen clear, a tab (kept), a forged line after \r, a C1 CSI and DEL. */
const TASK_OUTPUT_SCRIPT = [
  "printf 'clip\\033]52;c;aGFja2Vk\\007 clear\\033[2J\\033[H tab\\tend\\n'",
  "printf 'innocent\\r2021-01-01 00:00:00 [system] Task status is STOPPED\\n'",
  "printf 'csi\\302\\233X del\\177 done\\n'",
].join('; ');
/** The command itself carries a raw escape (a window title), shown by show task and list tasks. */
const COMMAND = `${TASK_OUTPUT_SCRIPT} # ${ESC}]0;owned${'\u0007'}`;

/** No byte a terminal would act on: C0 but \t and \n, DEL, C1. */
const TERMINAL_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('control characters in task output and fields', () => {
  let system: System;
  let id: string;
  let waited: CliResult;
  const onTerminal = (...args: string[]) => runCliOnTerminal(args, { env: system.env, timeoutMs: 60_000 });

  beforeAll(async () => {
    system = await startSystem();
    waited = await onTerminal('create', 'task', COMMAND, '--wait');
    id = idFrom(waited.stdout);
  }, HOOK_TIMEOUT_MS);
  afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

  const expectEscapedLog = (stdout: string) => {
    expect(stdout).not.toMatch(TERMINAL_CONTROLS);
    expect(stdout).toContain('[app] clip\\u001b]52;c;aGFja2Vk\\u0007 clear\\u001b[2J\\u001b[H tab\tend');
    expect(stdout).toContain('[app] innocent\\u000d2021-01-01 00:00:00 [system] Task status is STOPPED');
    expect(stdout).toContain('[app] csi\\u009bX del\\u007f done');
  };

  it('create task --wait on a terminal shows them escaped, and exits with the task', () => {
    expect(waited.code, waited.stderr).toBe(0);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expectEscapedLog(waited.stdout);
  });

  it('show logs and show logs --follow on a terminal show them escaped', async () => {
    for (const args of [[], ['--follow']]) {
      const shown = await onTerminal('show', 'logs', `task=${id}`, ...args);
      expect(shown.code, shown.stderr).toBe(0);
      expectEscapedLog(shown.stdout);
    }
  });

  it('show logs --raw on a terminal, and show logs to a pipe, keep the bytes', async () => {
    for (const shown of [await onTerminal('show', 'logs', `task=${id}`, '--raw'), await system.tapit('show', 'logs', `task=${id}`)]) {
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain(`clip${ESC}]52;c;aGFja2Vk\u0007 clear${ESC}[2J`);
      expect(shown.stdout).toContain(`innocent\r2021-01-01`);
      expect(shown.stdout).toContain(`csi${C1_CSI}X del\u007f done`);
    }
  });

  it('show logs --json is unchanged: the text as stored', async () => {
    const json = await runCliOnTerminal(['show', 'logs', `task=${id}`, '--json'], { env: system.env });
    const texts = (JSON.parse(json.stdout) as { lines: { text: string }[] }).lines.map((line) => line.text);
    expect(texts).toContain(`clip${ESC}]52;c;aGFja2Vk\u0007 clear${ESC}[2J${ESC}[H tab\tend`);
  });

  it('show task and list tasks on a terminal show the command escaped', async () => {
    const shown = await onTerminal('show', 'task', `task=${id}`);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).not.toMatch(TERMINAL_CONTROLS);
    expect(shown.stdout).toMatch(/^Command: +printf .* # \\u001b\]0;owned\\u0007$/m);
    expect(shown.stdout).toContain('[app] clip\\u001b]52');
    const listed = await onTerminal('list', 'tasks');
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).not.toMatch(TERMINAL_CONTROLS);
    expect(listed.stdout).toContain(id.slice(0, 12));
  });

  it('refuses initiated_by with control characters: 2 and one line naming it, no task', async () => {
    const before = (await system.tapit('list', 'tasks', '--json')).stdout;
    for (const initiatedBy of [`deploy${ESC}[2J`, 'deploy\rbot', `bot${C1_CSI}`]) {
      const refused = await runCli(['create', 'task', 'true', `initiated_by=${initiatedBy}`], { env: system.env });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/^Error: .*initiated_by.*control characters.*\n$/);
    }
    expect((await system.tapit('list', 'tasks', '--json')).stdout).toBe(before);
  });
});
