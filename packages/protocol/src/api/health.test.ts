import { describe, expect, it } from 'vitest';
import { health } from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';
import { Health } from './health.js';

describe('Health', () => {
  it('crosses the wire unchanged', () => {
    expect(overTheWire(Health, health)).toStrictEqual(health);
  });

  it.each([
    ['status', { ...health, status: 'starting' }],
    ['database', { ...health, database: 'sqlite' }],
    ['version', without(health, 'version')],
  ])('is refused with %s to blame', (field, value) => {
    expect(rejectedFields(Health, value)).toEqual([field]);
  });
});
