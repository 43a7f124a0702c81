import { describe, expect, it } from 'vitest';
import { agentView, offlineAgentView } from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';
import { AgentList, AgentView } from './agents.js';

describe('AgentView and AgentList', () => {
  it('cross the wire unchanged, online or offline', () => {
    expect(overTheWire(AgentView, agentView)).toStrictEqual(agentView);
    const list = { items: [agentView, offlineAgentView] };
    expect(overTheWire(AgentList, list)).toStrictEqual(list);
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
    ['items.1.name', AgentList, { items: [agentView, { ...offlineAgentView, name: 'Host B' }] }],
  ])('%s is to blame (case %#)', (field, schema, value) => {
    expect(rejectedFields(schema, value)).toEqual([field]);
  });
});
