import { describe, expect, it } from 'vitest';
import { rejectedFields } from '../testing/wire.js';
import { ListSchedulesQuery } from './schedules.js';

describe('ListSchedulesQuery', () => {
  it('reads URL query values: limit as a number, 50 unless told otherwise', () => {
    expect(ListSchedulesQuery.parse({ project: 'shop', stage: 'production', app: 'web', limit: '10', cursor: 'abc' })).toStrictEqual({
      project: 'shop',
      stage: 'production',
      app: 'web',
      limit: 10,
      cursor: 'abc',
    });
    expect(ListSchedulesQuery.parse({})).toStrictEqual({ limit: 50 });
  });

  it.each([
    ['limit', { limit: '0' }],
    ['limit', { limit: '501' }],
    ['app', { app: 'Web' }],
    ['cursor', { cursor: 'c'.repeat(201) }],
    ['status', { status: 'RUNNING' }],
  ])('is refused with %s to blame', (field, query) => {
    expect(rejectedFields(ListSchedulesQuery, query)).toEqual([field]);
  });
});
