/*
 * The scheduler relaying a console is killed (-9): nothing of it can close the session or flush
 * the recording. When it comes back it closes the sessions it held, their recordings ending
 * at the last stored chunk with a marker, and the recording kept what passed until just before.
 */
import { ConsoleSession, Task } from '@tapit/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsoleSocket } from '../support/console-socket.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startSystem, type System } from '../support/system.js';

let system: System;

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const response = await fetch(`${system.scheduler.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${system.scheduler.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${system.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  system = await startSystem();
}, HOOK_TIMEOUT_MS);
afterAll(() => system?.stop(), HOOK_TIMEOUT_MS);

describe('a console whose scheduler was killed', () => {
  it('is closed when the scheduler comes back, its recording ending at its last chunk, marked', async () => {
    const created = await api('POST', '/v1/projects/default/stages/default/apps/web/tasks', { args: ['sh'], kind: 'interactive' });
    expect(created.status, created.text).toBe(201);
    const taskId = Task.parse(created.json).id;
    await until('the console task to run', async () => (await api('GET', `/v1/tasks/${taskId}`)).json.status === 'RUNNING');

    const terminal = await openConsoleSocket(system.scheduler, taskId);
    terminal.type('echo first-$((1+1))\r');
    await until('the first answer', async () => /first-2/.test(terminal.screen()));
    terminal.type('echo last-$((2+3))\r');
    await until('the last answer', async () => /last-5/.test(terminal.screen()));
    // Well under a second after the last output: the old one-second chunks lost it.
    await new Promise((resolve) => setTimeout(resolve, 400));
    await system.restartScheduler(0, 'SIGKILL');
    await terminal.closed;

    const sessions = ConsoleSession.array().parse((await api('GET', `/v1/tasks/${taskId}/consoles`)).json.items);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ endReason: 'scheduler gone', closedAt: expect.any(String) });

    const cast = (await api('GET', `/v1/consoles/${sessions[0]!.id}/recording`)).text;
    const events = cast.trimEnd().split('\n').slice(1).map((line) => JSON.parse(line) as [number, string, string]);
    const output = events.filter((e) => e[1] === 'o').map((e) => e[2]).join('');
    expect(output).toContain('first-2');
    expect(output).toContain('last-5');
    const last = events[events.length - 1]!;
    expect(last.slice(1)).toEqual(['m', expect.stringContaining('the scheduler relaying this session stopped')]);
    expect(last[0]).toBe(events[events.length - 2]![0]);

    // The console itself lives on, on its agent: it can be opened again once the agent is back.
    expect((await api('GET', `/v1/tasks/${taskId}`)).json.status).toBe('RUNNING');
    let again: Awaited<ReturnType<typeof openConsoleSocket>> | undefined;
    await until('the console to open again', async () => (again = await openConsoleSocket(system.scheduler, taskId)) !== undefined);
    again!.type('exit\r');
    await again!.closed;
  }, 90_000);
});
