import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskHandle } from '../drivers/driver.js';
import { waitFor } from '../testing/fake-scheduler.js';
import { KeptContainers } from './kept-containers.js';

const TASK = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);
const handle = (id: string): TaskHandle => ({ driver: 'fake', version: 1, containerId: id });

function fakeDriver() {
  const removed: string[] = [];
  return { removed, removeContainer: async (h: TaskHandle) => void removed.push(String(h.containerId)) };
}

describe('KeptContainers', () => {
  it('removes a kept container when its time is up, also when the agent restarted in between', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tapit-kept-'));
    const before = fakeDriver();
    const first = new KeptContainers(stateDir, before);
    first.keep(TASK, handle('c1'), 1);
    expect(first.handleOf(TASK)).toEqual(handle('c1'));
    first.close(); // the agent stops before the time is up

    const after = fakeDriver();
    const second = new KeptContainers(stateDir, after);
    expect(second.has(TASK)).toBe(true);
    second.start();
    await waitFor('removal', () => after.removed.length > 0, 5000);
    expect(after.removed).toEqual(['c1']);
    expect(before.removed).toEqual([]);
    expect(second.has(TASK)).toBe(false);
    expect(readdirSync(stateDir)).toEqual([]);
  });

  it('removes one at once when asked (its task was deleted), and nothing else', async () => {
    const driver = fakeDriver();
    const kept = new KeptContainers(mkdtempSync(join(tmpdir(), 'tapit-kept-')), driver);
    kept.keep(TASK, handle('c1'), 3600);
    kept.keep(OTHER, handle('c2'), 3600);
    await kept.remove(TASK, 'its task was deleted');
    expect(driver.removed).toEqual(['c1']);
    expect(kept.handleOf(TASK)).toBeNull();
    expect(kept.has(OTHER)).toBe(true);
    kept.close();
  });
});
