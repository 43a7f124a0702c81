import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import * as protocol from './index.js';
import { examples, QUERY_SCHEMAS } from './testing/examples.js';
import { overTheWire } from './testing/wire.js';

const exportedSchemas = Object.entries(protocol).filter(([, value]) => value instanceof z.ZodType);
const exampleEntries = Object.entries(examples) as [string, readonly unknown[]][];

describe('@tapit/protocol exports', () => {
  it('exports the schemas the API document names', () => {
    // docs/api.md refers to these by name; a rename there or here must be deliberate.
    const documented = ['Health', 'WhoAmI', 'ProjectList', 'CreateProjectRequest', 'Project', 'CreateStageRequest', 'AppList',
      'CreateAppRequest', 'App', 'ReleaseList', 'CreateReleaseRequest', 'Release', 'CreateTaskRequest', 'Task', 'TaskList',
      'LogPage', 'LogFollowEvent', 'AgentList', 'TokenList', 'CreateTokenRequest', 'CreatedToken', 'ApiErrorBody',
      'AgentFrame', 'SchedulerFrame', 'AuditEvent', 'AuditEventList', 'ListAuditQuery', 'AuditAction'];
    const names = exportedSchemas.map(([name]) => name);
    expect(names).toEqual(expect.arrayContaining(documented));
  });

  it('has a valid example of every exported schema, or knows it is a query schema', () => {
    const covered = new Set([...Object.keys(examples), ...QUERY_SCHEMAS]);
    const missing = exportedSchemas.map(([name]) => name).filter((name) => !covered.has(name));
    expect(missing, 'add an example to src/testing/examples.ts').toEqual([]);
    const stale = [...covered].filter((name) => !exportedSchemas.some(([exported]) => exported === name));
    expect(stale).toEqual([]);
  });

  describe.each(exampleEntries)('%s', (name, values) => {
    const schema = (protocol as unknown as Record<string, z.ZodType>)[name];

    it('has at least one example', () => {
      expect(values.length).toBeGreaterThan(0);
    });

    it.each(values.map((value, index) => [index, value] as const))('example %i crosses the wire unchanged', (_index, value) => {
      expect(overTheWire(schema, value)).toStrictEqual(value);
    });
  });
});
