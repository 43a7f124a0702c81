import { afterAll, beforeAll, expect, it } from 'vitest';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startSystem, type System } from '../support/system.js';
import { startTmux, type Tmux } from '../support/tmux.js';
import { localExitCode, printedId, remoteReady } from './support.js';

// A console nobody is attached to ends after the agent's grace period (3 s here).
let system: System;
let tmux: Tmux;

beforeAll(async () => {
  system = await startSystem({ agentEnv: { TAPIT_CONSOLE_GRACE_SECONDS: '3' } });
  tmux = await startTmux(system.env);
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await tmux?.kill();
  await system?.stop();
}, HOOK_TIMEOUT_MS);

it('a detached console with nobody attached ends after the grace period', async () => {
  await tmux.line('tapit run sh');
  const id = await printedId(tmux);
  await remoteReady(tmux, 'a', 40_000);
  await tmux.keys('C-p', 'C-q');
  await tmux.waitFor(/Detached from task/);
  expect(await localExitCode(tmux)).toBe(0);
  const detachedAt = Date.now();
  expect((await system.task(id)).status).toBe('RUNNING');
  const task = await system.waitForTask(id, (t) => t.status === 'STOPPED', 30_000);
  expect(task.status, system.output()).toBe('STOPPED');
  // Not at once: the grace period is there to reattach after a network blip.
  expect(Date.now() - detachedAt).toBeGreaterThanOrEqual(2500);
});
