import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../version.js';
import {
  AgentCloseCode,
  AgentFrame,
  Heartbeat,
  Hello,
  Refused,
  SchedulerFrame,
  TaskAccepted,
  TaskAssign,
  TaskExited,
  TaskLog,
  TaskLogChunk,
  TaskLogAck,
  TaskStatusChanged,
  TaskStop,
  Welcome,
} from './frames.js';
import {
  agentFrames,
  heartbeat,
  hello,
  notReadyHeartbeat,
  recoveringHello,
  joiningHello,
  refused,
  schedulerFrames,
  taskAccepted,
  taskAssign,
  taskExited,
  taskLog,
  taskLogChunk,
  taskLogAck,
  taskStatusChanged,
  taskStop,
  welcome,
} from '../testing/examples.js';
import { overTheWire, rejectedFields, without } from '../testing/wire.js';

const notHex = '3f2a9c0d1b4e5f60718293a4b5c6d7eZ';
const tooShort = '3f2a9c0d1b4e5f60718293a4b5c6d7e';

describe('agent → scheduler frames', () => {
  it.each(agentFrames.map((frame) => [frame.type, frame] as const))('%s crosses the wire unchanged through AgentFrame', (_type, frame) => {
    expect(overTheWire(AgentFrame, frame)).toStrictEqual(frame);
  });

  it.each(agentFrames.map((frame) => [frame.type, frame] as const))('%s is not a scheduler frame', (_type, frame) => {
    expect(rejectedFields(SchedulerFrame, frame)).toEqual(['type']);
  });

  it('has exactly the frame types the protocol document lists', () => {
    expect(AgentFrame.options.map((option) => option.shape.type.value).sort()).toEqual(
      ['heartbeat', 'hello', 'task.accepted', 'task.env.request', 'task.exited', 'task.log', 'task.log.chunk', 'task.status'],
    );
  });

  it('refuses an unknown or missing type, naming the type field', () => {
    expect(rejectedFields(AgentFrame, { ...heartbeat, type: 'heartbeats' })).toEqual(['type']);
    expect(rejectedFields(AgentFrame, without(heartbeat, 'type'))).toEqual(['type']);
    expect(rejectedFields(AgentFrame, { ...heartbeat, type: 7 })).toEqual(['type']);
  });

  it('refuses something that is not an object at all', () => {
    for (const value of [null, 'hello', 42, [hello]]) expect(rejectedFields(AgentFrame, value)).toEqual(['']);
  });

  it('ignores fields it does not know, so a newer agent can add optional ones within a version', () => {
    expect(AgentFrame.parse({ ...heartbeat, load: 0.5 })).toStrictEqual(heartbeat);
  });

  describe('hello', () => {
    it('carries the protocol version this build speaks', () => {
      expect(Hello.parse({ ...hello, protocolVersion: PROTOCOL_VERSION }).protocolVersion).toBe(PROTOCOL_VERSION);
    });

    it.each([
      ['protocolVersion', { ...hello, protocolVersion: '1' }],
      ['protocolVersion', { ...hello, protocolVersion: 0 }],
      ['protocolVersion', { ...hello, protocolVersion: 1.5 }],
      ['agentName', without(hello, 'agentName')],
      ['agentName', { ...hello, agentName: 'Host_A' }],
      ['agentVersion', { ...hello, agentVersion: 'v'.repeat(101) }],
      ['capacity', without(hello, 'capacity')],
      ['capacity.cpu', { ...hello, capacity: { ...hello.capacity, cpu: 0 } }],
      ['capacity.memoryGb', { ...hello, capacity: { ...hello.capacity, memoryGb: -1 } }],
      ['tasks', { ...hello, tasks: null }],
      ['tasks.0.taskId', { ...hello, tasks: [{ ...hello.tasks[0], taskId: notHex }] }],
      ['tasks.0.lastSeq', { ...hello, tasks: [{ ...hello.tasks[0], lastSeq: -1 }] }],
      ['tasks.1.state', { ...hello, tasks: [hello.tasks[0], { ...hello.tasks[1], state: 'RUNNING' }] }],
      ['readiness.ready', { ...recoveringHello, readiness: { reason: null } }],
      ['recovering', { ...recoveringHello, recovering: 'yes' }],
      ['capacity.cpu', { ...hello, capacity: { ...hello.capacity, cpu: 1e6 } }],
      ['capacity.memoryGb', { ...hello, capacity: { ...hello.capacity, memoryGb: 1e300 } }],
      ['credential', { ...joiningHello, credential: 'short' }],
      ['credential', { ...joiningHello, credential: 'x'.repeat(40) + ' ' }],
      ['labels.Region', { ...joiningHello, labels: { Region: 'eu' } }],
      ['labels.region', { ...joiningHello, labels: { region: 'e u' } }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(Hello, frame)).toEqual([field]);
      expect(rejectedFields(AgentFrame, frame)).toEqual([field]);
    });
  });

  describe('heartbeat', () => {
    it('may say the agent is not ready and why; without readiness it is an older agent, taken as ready', () => {
      expect(overTheWire(Heartbeat, notReadyHeartbeat)).toStrictEqual(notReadyHeartbeat);
      expect(Heartbeat.parse(heartbeat).readiness).toBeUndefined();
    });

    it.each([
      ['readiness.ready', { ...notReadyHeartbeat, readiness: { ...notReadyHeartbeat.readiness, ready: 'no' } }],
      ['readiness.reason', { ...notReadyHeartbeat, readiness: { ...notReadyHeartbeat.readiness, reason: 'r'.repeat(1001) } }],
      ['readiness.reason', { ...notReadyHeartbeat, readiness: { ready: false } }],
      ['at', without(heartbeat, 'at')],
      ['at', { ...heartbeat, at: 1616000000000 }],
      ['at', { ...heartbeat, at: '2021-03-17 09:58:34' }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(Heartbeat, frame)).toEqual([field]);
      expect(rejectedFields(AgentFrame, frame)).toEqual([field]);
    });
  });

  describe('task.accepted', () => {
    it.each([
      ['taskId', without(taskAccepted, 'taskId')],
      ['taskId', { ...taskAccepted, taskId: tooShort }],
      ['taskId', { ...taskAccepted, taskId: `${taskAccepted.taskId}0` }],
      ['taskId', { ...taskAccepted, taskId: taskAccepted.taskId.toUpperCase() }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(TaskAccepted, frame)).toEqual([field]);
      expect(rejectedFields(AgentFrame, frame)).toEqual([field]);
    });
  });

  describe('task.status', () => {
    it('reports only the moves an agent makes; STOPPED comes as task.exited', () => {
      expect(rejectedFields(TaskStatusChanged, { ...taskStatusChanged, status: 'STOPPED' })).toEqual(['status']);
      expect(rejectedFields(TaskStatusChanged, { ...taskStatusChanged, status: 'PROVISIONING' })).toEqual(['status']);
    });

    it.each([
      ['taskId', { ...taskStatusChanged, taskId: notHex }],
      ['status', without(taskStatusChanged, 'status')],
      ['status', { ...taskStatusChanged, status: 'running' }],
      ['at', { ...taskStatusChanged, at: 'yesterday' }],
      ['imageDigest', { ...taskStatusChanged, imageDigest: 'x'.repeat(201) }],
      ['imageDigest', { ...taskStatusChanged, imageDigest: null }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(TaskStatusChanged, frame)).toEqual([field]);
      expect(rejectedFields(AgentFrame, frame)).toEqual([field]);
    });
  });

  describe('task.log', () => {
    const line = taskLog.lines[0];

    it('keeps text byte for byte: escapes, unicode, empty lines', () => {
      const text = 'tab\tquote" backslash\\ newline-free \u001b[31mred\u001b[0m 🚀';
      const frame = { ...taskLog, lines: [{ ...line, text }, { ...line, text: '' }] };
      expect(overTheWire(TaskLog, frame).lines.map((l) => l.text)).toEqual([text, '']);
    });

    it.each([
      ['seq', { ...taskLog, seq: 0 }],
      ['seq', { ...taskLog, seq: 1.5 }],
      ['seq', without(taskLog, 'seq')],
      ['lines', { ...taskLog, lines: [] }],
      ['lines.0.stream', { ...taskLog, lines: [{ ...line, stream: 'app' }] }],
      ['lines.0.text', { ...taskLog, lines: [{ ...line, text: 'x'.repeat(1024 * 1024 + 1) }] }],
      ['lines.0.text', { ...taskLog, lines: [{ ...line, text: null }] }],
      ['lines.0.at', { ...taskLog, lines: [without(line, 'at')] }],
      ['taskId', { ...taskLog, taskId: tooShort }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(TaskLog, frame)).toEqual([field]);
      expect(rejectedFields(AgentFrame, frame)).toEqual([field]);
    });
  });

  describe('task.log.chunk', () => {
    const run = taskLogChunk.runs[0]!;

    it('keeps text byte for byte, its line breaks included', () => {
      const text = 'tab\tquote" backslash\\ \u001b[31mred\u001b[0m 🚀\n\n';
      const frame = { ...taskLogChunk, runs: [{ ...run, lines: 2, text }] };
      expect(overTheWire(TaskLogChunk, frame).runs[0]!.text).toBe(text);
    });

    it.each([
      ['seq', { ...taskLogChunk, seq: 0 }],
      ['seq', { ...taskLogChunk, seq: 2 ** 31 }],
      ['runs', { ...taskLogChunk, runs: [] }],
      ['runs', { ...taskLogChunk, runs: Array(4097).fill(run) }],
      ['runs.0.stream', { ...taskLogChunk, runs: [{ ...run, stream: 'app' }] }],
      ['runs.0.lines', { ...taskLogChunk, runs: [{ ...run, lines: 0 }] }],
      ['runs.0.text', { ...taskLogChunk, runs: [{ ...run, lines: 2 }] }],
      ['runs.0.text', { ...taskLogChunk, runs: [{ ...run, text: '1\n2\n3' }] }],
      ['runs.0.at', { ...taskLogChunk, runs: [without(run, 'at')] }],
      ['taskId', { ...taskLogChunk, taskId: tooShort }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(TaskLogChunk, frame)).toEqual([field]);
      expect(rejectedFields(AgentFrame, frame)).toEqual([field]);
    });
  });

  describe('task.exited', () => {
    it.each([
      ['stopCode', { ...taskExited, stopCode: 'CRASHED' }],
      ['stopCode', without(taskExited, 'stopCode')],
      ['exitCode', { ...taskExited, exitCode: '0' }],
      ['exitCode', without(taskExited, 'exitCode')],
      // Found by the agent-frames fuzzer: past 32 bits the database refused it inside the gateway.
      ['exitCode', { ...taskExited, exitCode: 2 ** 31 }],
      ['reason', { ...taskExited, reason: 'r'.repeat(4001) }],
      ['usage.peakMemoryBytes', { ...taskExited, usage: { ...taskExited.usage, peakMemoryBytes: -1 } }],
      ['usage.cpuSeconds', { ...taskExited, usage: { ...taskExited.usage, cpuSeconds: '12' } }],
      ['usage.diskBytes', { ...taskExited, usage: { ...taskExited.usage, diskBytes: 1.5 } }],
      ['startedAt', without(taskExited, 'startedAt')],
      ['finishedAt', { ...taskExited, finishedAt: null }],
      ['lastSeq', { ...taskExited, lastSeq: -1 }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(TaskExited, frame)).toEqual([field]);
      expect(rejectedFields(AgentFrame, frame)).toEqual([field]);
    });
  });
});

describe('scheduler → agent frames', () => {
  it.each(schedulerFrames.map((frame) => [frame.type, frame] as const))('%s crosses the wire unchanged through SchedulerFrame', (_type, frame) => {
    expect(overTheWire(SchedulerFrame, frame)).toStrictEqual(frame);
  });

  it.each(schedulerFrames.map((frame) => [frame.type, frame] as const))('%s is not an agent frame', (_type, frame) => {
    expect(rejectedFields(AgentFrame, frame)).toEqual(['type']);
  });

  it('has exactly the frame types the protocol document lists', () => {
    expect(SchedulerFrame.options.map((option) => option.shape.type.value).sort()).toEqual(
      ['console.open', 'heartbeat.ack', 'refused', 'task.assign', 'task.copy', 'task.env', 'task.log.ack', 'task.remove', 'task.stop', 'welcome'],
    );
  });

  it('refuses an unknown type, naming the type field', () => {
    expect(rejectedFields(SchedulerFrame, { ...taskStop, type: 'task.kill' })).toEqual(['type']);
    expect(rejectedFields(SchedulerFrame, without(taskStop, 'type'))).toEqual(['type']);
  });

  it('ignores fields it does not know, so a newer scheduler can add optional ones within a version', () => {
    expect(SchedulerFrame.parse({ ...taskLogAck, note: 'new' })).toStrictEqual(taskLogAck);
  });

  describe('welcome', () => {
    it.each([
      ['protocolVersion', without(welcome, 'protocolVersion')],
      ['agentName', { ...welcome, agentName: '' }],
      ['heartbeatIntervalMs', { ...welcome, heartbeatIntervalMs: 0 }],
      ['heartbeatIntervalMs', { ...welcome, heartbeatIntervalMs: '10000' }],
      ['acks.0.taskId', { ...welcome, acks: [{ ...welcome.acks[0], taskId: notHex }] }],
      ['acks.0.seq', { ...welcome, acks: [{ ...welcome.acks[0], seq: -1 }] }],
      ['acks.0.seq', { ...welcome, acks: [without(welcome.acks[0], 'seq')] }],
      ['drop.0', { ...welcome, drop: [tooShort] }],
      ['drop', without(welcome, 'drop')],
      ['clock.receivedAt', { ...welcome, clock: { sentAt: '2021-03-17T09:58:34Z' } }],
      ['stopWhenCutOff.afterSeconds', { ...welcome, stopWhenCutOff: { afterSeconds: 0, stopGraceSeconds: 10 } }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(Welcome, frame)).toEqual([field]);
      expect(rejectedFields(SchedulerFrame, frame)).toEqual([field]);
    });
  });

  describe('task.assign', () => {
    const spec = taskAssign.task;

    it.each([
      ['task', without(taskAssign, 'task')],
      ['task.taskId', { ...taskAssign, task: { ...spec, taskId: notHex } }],
      ['task.image', { ...taskAssign, task: { ...spec, image: '' } }],
      ['task.command', { ...taskAssign, task: { ...spec, command: 'bin/rails db:migrate' } }],
      ['task.command.1', { ...taskAssign, task: { ...spec, command: ['/bin/sh', 7] } }],
      ['task.env.PORT', { ...taskAssign, task: { ...spec, env: { PORT: 8080 } } }],
      ['task.kind', { ...taskAssign, task: { ...spec, kind: 'daemon' } }],
      ['task.resources.cpu', { ...taskAssign, task: { ...spec, resources: { ...spec.resources, cpu: 65 } } }],
      ['task.resources.memoryGb', { ...taskAssign, task: { ...spec, resources: { ...spec.resources, memoryGb: 0 } } }],
      ['task.resources.maxHours', { ...taskAssign, task: { ...spec, resources: { ...spec.resources, maxHours: 8761 } } }],
      ['task.resources.ephemeralStorageGb', { ...taskAssign, task: { ...spec, resources: { ...spec.resources, ephemeralStorageGb: -5 } } }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(TaskAssign, frame)).toEqual([field]);
      expect(rejectedFields(SchedulerFrame, frame)).toEqual([field]);
    });
  });

  describe('task.stop', () => {
    it('carries only the stops a scheduler decides', () => {
      for (const stopCode of ['USER_STOPPED', 'TIMED_OUT', 'AGENT_LOST']) {
        expect(rejectedFields(TaskStop, { ...taskStop, stopCode })).toEqual([]);
      }
      for (const stopCode of ['EXITED', 'OOM_KILLED', 'FAILED_TO_START', 'STORAGE_EXCEEDED', 'ENGINE_LOST']) {
        expect(rejectedFields(TaskStop, { ...taskStop, stopCode })).toEqual(['stopCode']);
      }
    });

    it.each([
      ['taskId', { ...taskStop, taskId: tooShort }],
      ['reason', without(taskStop, 'reason')],
      ['graceSeconds', { ...taskStop, graceSeconds: -1 }],
      ['graceSeconds', { ...taskStop, graceSeconds: 2.5 }],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(TaskStop, frame)).toEqual([field]);
      expect(rejectedFields(SchedulerFrame, frame)).toEqual([field]);
    });
  });

  describe('task.log.ack', () => {
    it.each([
      ['seq', { ...taskLogAck, seq: -1 }],
      ['seq', { ...taskLogAck, seq: '45' }],
      ['taskId', without(taskLogAck, 'taskId')],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(TaskLogAck, frame)).toEqual([field]);
      expect(rejectedFields(SchedulerFrame, frame)).toEqual([field]);
    });
  });

  describe('refused', () => {
    it.each([
      ['code', { ...refused, code: 'GO_AWAY' }],
      ['message', without(refused, 'message')],
    ])('is refused with %s to blame', (field, frame) => {
      expect(rejectedFields(Refused, frame)).toEqual([field]);
      expect(rejectedFields(SchedulerFrame, frame)).toEqual([field]);
    });
  });
});

describe('AgentCloseCode', () => {
  it('uses distinct codes from the application range 4000–4999', () => {
    const codes = Object.values(AgentCloseCode);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect(code).toBeGreaterThanOrEqual(4000);
      expect(code).toBeLessThanOrEqual(4999);
    }
  });
});
