import { describe, expect, it } from 'vitest';
import { rejectedFields } from '../testing/wire.js';
import { formatLabels, Labels, MAX_LABELS, parseLabels, satisfies } from './labels.js';

describe('labels', () => {
  it('parses TAPIT_AGENT_LABELS and repeated constraint= values alike', () => {
    expect(parseLabels('region=eu, gpu=true,')).toEqual({ region: 'eu', gpu: 'true' });
    expect(parseLabels(['region=eu', 'example.com/zone=b'])).toEqual({ region: 'eu', 'example.com/zone': 'b' });
    expect(parseLabels('')).toEqual({});
  });

  it.each([
    ['region', '"region" must be KEY=VALUE, e.g. region=eu'],
    ['=eu', '"=eu" must be KEY=VALUE, e.g. region=eu'],
    ['Region=eu', 'label key "Region" must be'],
    ['region=', 'value "" of label region must be'],
    ['region=e u', 'value "e u" of label region must be'],
    ['region=eu,region=us', 'label region is given twice, as eu and us'],
  ])('refuses %j, saying why', (text, message) => {
    expect(() => parseLabels(text)).toThrow(message);
  });

  it(`allows at most ${MAX_LABELS} labels`, () => {
    const many = Array.from({ length: MAX_LABELS + 1 }, (_, i) => `k${i}=v`);
    expect(() => parseLabels(many)).toThrow(`at most ${MAX_LABELS}`);
    expect(rejectedFields(Labels, Object.fromEntries(many.map((p) => p.split('='))))).toEqual(['']);
  });

  it('an agent satisfies constraints when it carries every required label with the same value', () => {
    const agent = { region: 'eu', gpu: 'true' };
    expect(satisfies(agent, {})).toBe(true);
    expect(satisfies(agent, { region: 'eu' })).toBe(true);
    expect(satisfies(agent, { region: 'eu', gpu: 'true' })).toBe(true);
    expect(satisfies(agent, { region: 'us' })).toBe(false);
    expect(satisfies(agent, { disk: 'ssd' })).toBe(false);
    expect(satisfies({}, { region: 'eu' })).toBe(false);
  });

  it('formats labels sorted by key', () => {
    expect(formatLabels({ region: 'eu', gpu: 'true' })).toBe('gpu=true,region=eu');
    expect(formatLabels({})).toBe('');
  });
});
