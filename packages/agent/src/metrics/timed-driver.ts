import type { DriverTask, TaskDriver } from '../drivers/driver.js';
import { agentMetrics } from './agent-metrics.js';

/** The driver's calls to its engine that end (not `wait` or `streamOutput`, which last a task's life). */
const DRIVER_CALLS = new Set(['capacity', 'start', 'recover', 'listOwned', 'copyFile', 'removeContainer']);
const TASK_CALLS = new Set(['startedAt', 'stop', 'diskUsageBytes', 'destroy', 'exec']);

/** Times the promise `call` gives under `operation`; `ok` or `error`. */
async function timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
  const end = agentMetrics.engineCall(operation);
  try {
    const result = await call();
    end('ok');
    return result;
  } catch (error) {
    end('error');
    throw error;
  }
}

/** `target` with the methods in `names` timed; everything else (fields, getters) as it is. */
function wrap<T extends object>(target: T, names: Set<string>, prefix: string, after: (name: string, result: unknown) => unknown = (_, r) => r): T {
  return new Proxy(target, {
    get(object, key) {
      const value = Reflect.get(object, key) as unknown; // getters see the object itself (its private fields)
      if (typeof key !== 'string' || !names.has(key) || typeof value !== 'function') return value;
      return (...args: unknown[]) => timed(`${prefix}${key}`, async () => after(key, await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args)));
    },
  });
}

/**
 * The driver, with its engine calls and those of the tasks it gives timed in
 * tapit_agent_engine_call_duration_seconds (operation: `start`, `task.stop`, …).
 */
export function timedDriver(driver: TaskDriver): TaskDriver {
  const wrapTask = (task: unknown) => (task === null ? null : wrap(task as DriverTask, TASK_CALLS, 'task.'));
  return wrap(driver, DRIVER_CALLS, '', (name, result) => (name === 'start' || name === 'recover' ? wrapTask(result) : result));
}
