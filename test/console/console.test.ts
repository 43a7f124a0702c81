import { execFileSync } from 'node:child_process';
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cliProcessEnv, TAPIT_COMMAND } from '../support/cli.js';
import { HOOK_TIMEOUT_MS, REPO_ROOT } from '../support/repo.js';
import { idFrom, startSystem, type System } from '../support/system.js';
import { startTmux, type Tmux } from '../support/tmux.js';
import { CLI_FAILED, expectSaneTerminal, localExitCode, printedId, remoteReady } from './support.js';

// Interactive consoles end to end: the built CLI in a real pseudo-terminal (tmux), the built
// scheduler, and a built agent running the console in a Docker container with a TTY.
let system: System;
let tmux: Tmux;

beforeAll(async () => {
  system = await startSystem({ agentEnv: { TAPIT_CONSOLE_GRACE_SECONDS: '120' } });
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);
beforeEach(async () => {
  tmux = await startTmux(system.env);
}, HOOK_TIMEOUT_MS);
afterEach(async () => {
  await tmux?.kill();
}, HOOK_TIMEOUT_MS);

const why = () => system.output();

/** Runs the built CLI with pipes (no terminal), feeding `input` to its stdin. */
function tapitPiped(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(TAPIT_COMMAND, args, { cwd: REPO_ROOT, env: cliProcessEnv(system.env), stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tapit ${args.join(' ')} did not finish\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 30_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A background task that stays RUNNING for exec tests. */
async function backgroundTask(): Promise<string> {
  const created = await system.tapit('create', 'task', 'sleep 600');
  expect(created.code, created.stderr).toBe(0);
  const id = idFrom(created.stdout);
  const task = await system.waitForTask(id, (t) => t.status === 'RUNNING' || t.status === 'STOPPED');
  expect(task.status, why()).toBe('RUNNING');
  return id;
}

describe('tapit run (interactive console)', () => {
  it('echoes typed input, follows the terminal size, passes Ctrl-C to the remote program and exits with its exit code', async () => {
    await tmux.line('tapit run sh');
    const id = await printedId(tmux);
    await tmux.waitFor(/\[system\] Task status is RUNNING, desired status is RUNNING/, 40_000, CLI_FAILED);
    await remoteReady(tmux, 'a');
    // Typed input comes back through the remote TTY's echo.
    await tmux.line('echo typed-$((6*7))');
    await tmux.waitFor(/echo typed-\$\(\(6\*7\)\)\s*\n\s*typed-42/);

    // The remote terminal starts at the local size, then follows a resize.
    await tmux.clear();
    await tmux.line('stty size');
    await tmux.waitFor(/^24 80$/m);
    await tmux.resize(100, 30);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await tmux.line('stty size');
    await tmux.waitFor(/^30 100$/m);

    // Ctrl-C reaches the remote sleep, not the CLI: the remote shell goes on.
    await tmux.line('sleep 100');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const interrupted = Date.now();
    await tmux.keys('C-c');
    await tmux.line('echo still-$((1+1))');
    await tmux.waitFor(/^still-2/m, 10_000);
    expect(Date.now() - interrupted).toBeLessThan(10_000);

    // The remote exit code becomes the CLI's.
    await tmux.line('exit 7');
    expect(await localExitCode(tmux), `${await tmux.screen(200)}\n${why()}`).toBe(7);
    await expectSaneTerminal(tmux);
    const task = await system.waitForTask(id, (t) => t.status === 'STOPPED');
    expect(task).toMatchObject({ status: 'STOPPED', exitCode: 7, kind: 'interactive' });

    // The session was recorded: listed with its end, and its recording holds what was shown.
    const list = await system.tapit('list', 'consoles', `task=${id}`, '--json');
    expect(list.code, list.stderr).toBe(0);
    const sessions = (JSON.parse(list.stdout) as { items: { id: string; mode: string; exitCode: number | null; endReason: string | null }[] }).items;
    expect(sessions).toEqual([expect.objectContaining({ mode: 'attach', exitCode: 7, endReason: 'exited' })]);
    const table = await system.tapit('list', 'consoles', `task=${id}`);
    expect(table.stdout).toMatch(/SESSION\s+MODE\s+COMMAND/);
    expect(table.stdout).toContain(sessions[0]!.id);
    const raw = await system.tapit('show', 'recording', `session=${sessions[0]!.id}`, '--raw');
    expect(raw.code, raw.stderr).toBe(0);
    expect(JSON.parse(raw.stdout.split('\n')[0]!)).toMatchObject({ version: 2 });
    expect(raw.stdout).toContain('typed-42');
    const replay = await system.tapit('show', 'recording', `session=${sessions[0]!.id}`, '--speed', '1000');
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('typed-42');
  });

  it('task:run --interactive -- CMD ARGS runs the command in a TTY of the terminal\'s size', async () => {
    // Engines before API 1.42 (Docker 23) ignore the size given at create: the agent resizes
    // right after the start, so a program reading the size in its first instant may see 0x0.
    const apiVersion = Number(execFileSync('docker', ['version', '--format', '{{.Server.APIVersion}}']).toString().trim());
    const settle = apiVersion >= 1.42 ? '' : 'sleep 1; ';
    await tmux.line(`tapit task:run --interactive -- sh -c "tty; ${settle}stty size; read x; exit 3"`);
    await tmux.waitFor(/^\/dev\/pts\/\d+/m, 40_000, CLI_FAILED);
    await tmux.waitFor(/^24 80$/m);
    await tmux.line('go');
    expect(await localExitCode(tmux), why()).toBe(3);
    await expectSaneTerminal(tmux);
  });

  it('Ctrl-P Ctrl-Q detaches (exit 0) and task:attach reattaches to the same console', async () => {
    await tmux.line('tapit run sh');
    const id = await printedId(tmux);
    await remoteReady(tmux, 'b');
    await tmux.line('export KEPT=kept-value');
    await tmux.keys('C-p', 'C-q');
    await tmux.waitFor(new RegExp(`Detached from task ${id}: it keeps running\\. Reattach with: tapit task:attach ${id}`));
    expect(await localExitCode(tmux)).toBe(0);
    await expectSaneTerminal(tmux);
    expect((await system.task(id)).status).toBe('RUNNING');

    await tmux.clear();
    await tmux.line(`tapit task:attach ${id}`);
    await remoteReady(tmux, 'c');
    // The same shell: what it was given before the detach is still there.
    await tmux.line('echo "got $KEPT"');
    await tmux.waitFor(/^got kept-value/m);
    // A lone Ctrl-P is just a key for the remote shell (ash: previous history), not a detach:
    // Enter then runs the recalled command again.
    await tmux.keys('C-p');
    await new Promise((resolve) => setTimeout(resolve, 800));
    await tmux.keys('Enter');
    await tmux.waitFor(/^got kept-value[\s\S]*^got kept-value/m);
    await tmux.line('exit 3');
    expect(await localExitCode(tmux)).toBe(3);
    await expectSaneTerminal(tmux);
  });

  it('after kill -9 of the CLI the console lives on, and task:attach replays its screen', async () => {
    await tmux.line('tapit run sh');
    const id = await printedId(tmux);
    await remoteReady(tmux, 'd');
    await tmux.line('echo before-$((2*50))-kill');
    await tmux.waitFor(/^before-100-kill/m);
    const pid = await tmux.foregroundPid();
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    // Nothing can restore a terminal after SIGKILL: put it right, as a user would.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await tmux.line('stty sane');
    await tmux.clear();
    expect(await tmux.screen()).not.toContain('before-100-kill');

    await tmux.line(`tapit task:attach ${id}`);
    // The replay of the recent screen shows the output from before the kill.
    await tmux.waitFor(/before-100-kill/, 20_000);
    await remoteReady(tmux, 'e');
    await tmux.line('exit 0');
    expect(await localExitCode(tmux)).toBe(0);
    await expectSaneTerminal(tmux);
  });

  it('SIGTERM to the CLI restores the terminal, leaves the console running and says how to reattach', async () => {
    await tmux.line('tapit run sh');
    const id = await printedId(tmux);
    await remoteReady(tmux, 'f');
    const pid = await tmux.foregroundPid();
    process.kill(pid!, 'SIGTERM');
    await tmux.waitFor(new RegExp(`Reattach with: tapit task:attach ${id}`));
    expect(await localExitCode(tmux)).toBe(143);
    await expectSaneTerminal(tmux);
    expect((await system.task(id)).status).toBe('RUNNING');
    await system.tapit('task:stop', id);
  });
});

describe('tapit task:attach ID -- CMD (exec)', () => {
  it('runs a command with a TTY inside a background task, with the exit code coming back', async () => {
    const id = await backgroundTask();
    await tmux.line(`tapit task:attach ${id} -- sh`);
    await remoteReady(tmux, 'g');
    await tmux.line('tty; stty size');
    await tmux.waitFor(/^\/dev\/pts\/\d+\s*\n24 80$/m);
    await tmux.line('exit 5');
    expect(await localExitCode(tmux), why()).toBe(5);
    await expectSaneTerminal(tmux);
    // The task itself goes on.
    expect((await system.task(id)).status).toBe('RUNNING');
    await system.tapit('task:stop', id);
  });

  it('works without a terminal: stdin in (to its end), stdout and stderr apart, the exit code back', async () => {
    const id = await backgroundTask();
    const cat = await tapitPiped(['task:attach', id, '--', 'cat'], 'hi\n');
    expect(cat, why()).toMatchObject({ code: 0, stdout: 'hi\n' });
    const both = await tapitPiped(['task:attach', id, '--', 'sh', '-c', 'echo out; echo err >&2; test -t 0 || echo no-tty; exit 4'], '');
    expect(both.code, `${both.stderr}\n${why()}`).toBe(4);
    expect(both.stdout).toBe('out\nno-tty\n');
    expect(both.stderr).toContain('err\n');
    // Bytes pass unchanged, the detach keys included (they only mean something on a terminal).
    const binary = await tapitPiped(['task:attach', id, '--', 'od', '-An', '-tx1'], '\x10\x11\x03\x00é');
    expect(binary.stdout.trim().split(/\s+/)).toEqual(['10', '11', '03', '00', 'c3', 'a9']);
    await system.tapit('task:stop', id);
  });

  it('refuses clearly: attach without a command to a background task, exec into a stopped task', async () => {
    const id = await backgroundTask();
    const attach = await system.tapit('task:attach', id);
    expect(attach.code).toBe(2);
    expect(attach.stderr).toMatch(/^Error: .*background task with no console/m);
    await system.tapit('task:stop', id);
    await system.waitForTask(id, (t) => t.status === 'STOPPED');
    const exec = await system.tapit('task:attach', id, '--', 'ls');
    expect(exec.code).toBe(2);
    expect(exec.stderr).toMatch(/^Error: .*only a RUNNING task has a console/m);
  });
});
