import { describe, expect, it } from 'vitest';
import { agentView, offlineAgentView, projectAgentView } from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';
import { AgentList, AgentView, UpdateAgentRequest } from './agents.js';

describe('AgentView and AgentList', () => {
  it('cross the wire unchanged, online or offline, in full or as a project token sees them', () => {
    expect(overTheWire(AgentView, agentView)).toStrictEqual(agentView);
    const list = { items: [agentView, offlineAgentView] };
    expect(overTheWire(AgentList, list)).toStrictEqual(list);
    expect(overTheWire(AgentView, projectAgentView)).toStrictEqual(projectAgentView);
  });

  it('allows nothing allocated, but not less', () => {
    expect(rejectedFields(AgentView, { ...agentView, allocated: { cpu: 0, memoryGb: 0 } })).toEqual([]);
    expect(rejectedFields(AgentView, { ...agentView, allocated: { cpu: -0.5, memoryGb: 0 } })).toEqual(['allocated.cpu']);
  });

  it.each([
    ['status', AgentView, { ...agentView, status: 'draining' }],
    ['capacity.cpu', AgentView, { ...agentView, capacity: { ...agentView.capacity, cpu: 0 } }],
    ['runningTasks', AgentView, { ...agentView, runningTasks: -1 }],
    ['lastSeenAt', AgentView, without(agentView, 'lastSeenAt')],
    ['labels', AgentView, without(agentView, 'labels')],
    ['items.1.name', AgentList, { items: [agentView, { ...offlineAgentView, name: 'Host B' }] }],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });
});

describe('UpdateAgentRequest', () => {
  it('needs at least one change', () => {
    expect(UpdateAgentRequest.safeParse({}).error?.issues[0]?.message).toBe('give at least one of cpu, memoryGb, drained');
  });

  it.each([
    ['cpu', { cpu: 0 }],
    ['cpu', { cpu: 1e6 }],
    ['memoryGb', { memoryGb: 1e300 }],
    ['drained', { drained: 'yes' }],
    ['labels', { labels: {}, drained: true }],
  ])('is refused with %s to blame (case %#)', (field, value) => {
    expect(rejectedFields(UpdateAgentRequest, value)).toEqual([field]);
  });
});
