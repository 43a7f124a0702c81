import { describe, expect, it } from 'vitest';
import { boundedCapacity } from '../agent.js';

describe('boundedCapacity', () => {
  it('offers a host bigger than the scheduler accepts as the most it accepts', () => {
    expect(boundedCapacity({ cpu: 2048, memoryGb: 32768 })).toEqual({ cpu: 1024, memoryGb: 16384 });
    expect(boundedCapacity({ cpu: 8, memoryGb: 31.25 })).toEqual({ cpu: 8, memoryGb: 31.25 });
  });
});
