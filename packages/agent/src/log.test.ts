import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configureLog, levelOf, log } from './log.js';

describe('the agent log', () => {
  const lines: string[] = [];
  const sink = { write: (text: string) => void lines.push(text) };
  // The package's tests run with TAPIT_AGENT_QUIET=1; these are about what the log writes.
  beforeEach(() => {
    lines.length = 0;
    process.env.TAPIT_AGENT_QUIET = '0';
  });
  afterEach(() => {
    process.env.TAPIT_AGENT_QUIET = '1';
  });

  it('writes one JSON event per line: level, time, msg (the event) and its fields, undefined ones left out', () => {
    configureLog({ format: 'json', sink });
    log('task.exited', { task: 'abc', code: 0, gone: undefined });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ level: 'info', time: expect.any(String), msg: 'task.exited', task: 'abc', code: 0 });
  });

  it('keeps the human line as the pretty format: `<time> tapit-agent <event> key=value …`', () => {
    configureLog({ format: 'pretty', sink });
    log('connection.error', { error: 'connect ECONNREFUSED', inMs: 500 });
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z tapit-agent connection\.error error="connect ECONNREFUSED" inMs=500\n$/);
  });

  it('gives failures and refusals warn, the agent giving up error, the rest info; and filters by level', () => {
    expect(['task.start-error', 'copy.failed', 'engine.unreachable', 'connection.refused', 'agent.name-in-use'].map(levelOf)).toEqual(['warn', 'warn', 'warn', 'warn', 'warn']);
    expect(levelOf('agent.failed')).toBe('error');
    expect(['task.exited', 'agent.started', 'connection.retry', 'engine.reachable'].map(levelOf)).toEqual(['info', 'info', 'info', 'info']);
    configureLog({ format: 'json', level: 'warn', sink });
    log('task.assigned', { task: 'a' });
    log('task.start-error', { task: 'a' });
    expect(lines.map((line) => (JSON.parse(line) as { msg: string; level: string }).level)).toEqual(['warn']);
  });
});
