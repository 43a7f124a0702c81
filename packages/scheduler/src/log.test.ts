import { describe, expect, it } from 'vitest';
import { createLog } from './log.js';

function capture(format: 'json' | 'pretty', level?: 'warn') {
  const lines: string[] = [];
  const log = createLog({ format, ...(level ? { level } : {}), sink: { write: (text) => void lines.push(text) } });
  return { log, lines };
}

describe('the scheduler log', () => {
  it('writes one JSON event per line with level, time, msg and the fields', () => {
    const { log, lines } = capture('json');
    log('agent a1 connected');
    log('database connection lost: reset', 'warn', { attempt: 2 });
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.endsWith('}\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
    const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(first).toEqual({ level: 'info', time: expect.any(String), msg: 'agent a1 connected' });
    expect(Date.parse(String(first!.time))).not.toBeNaN();
    expect(second).toMatchObject({ level: 'warn', msg: 'database connection lost: reset', attempt: 2 });
  });

  it('keeps the human line as the pretty format: the time and the message, a level above info named', () => {
    const { log, lines } = capture('pretty');
    log('tapit-scheduler 0.1.0 listening on http://127.0.0.1:7700 (Postgres)');
    log('could not start: boom', 'error', { code: 'X Y' });
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z tapit-scheduler 0\.1\.0 listening on http:\/\/127\.0\.0\.1:7700 \(Postgres\)\n$/);
    expect(lines[1]).toMatch(/^\S+ ERROR could not start: boom code="X Y"\n$/);
  });

  it('leaves out events below TAPIT_LOG_LEVEL', () => {
    const { log, lines } = capture('json', 'warn');
    log('an info line');
    log('a warning', 'warn');
    expect(lines.map((line) => (JSON.parse(line) as { msg: string }).msg)).toEqual(['a warning']);
  });
});
