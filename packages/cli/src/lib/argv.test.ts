import { describe, expect, it } from 'vitest';
import { hoistScopeFlags } from './argv.js';

describe('hoistScopeFlags', () => {
  it('moves SetOps-style leading scope flags after the command, before --', () => {
    expect(hoistScopeFlags(['-p', 'shop', '-s', 'prod', '--app', 'web', 'task:run', '--', 'echo', '-a', 'x'])).toEqual([
      'task:run', '-p', 'shop', '-s', 'prod', '--app', 'web', '--', 'echo', '-a', 'x',
    ]);
  });

  it('appends them when there is no --, and handles --flag=value', () => {
    expect(hoistScopeFlags(['--app=web', 'create', 'task', 'ls'])).toEqual(['create', 'task', 'ls', '--app=web']);
  });

  it('leaves argv alone when the command comes first', () => {
    expect(hoistScopeFlags(['task:run', '-a', 'web', '--', 'ls'])).toEqual(['task:run', '-a', 'web', '--', 'ls']);
    expect(hoistScopeFlags(['--help'])).toEqual(['--help']);
  });
});
