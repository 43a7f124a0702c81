import type { AuditEvent } from '@tapit/protocol';
import { describe, expect, it } from 'vitest';
import { auditTable, formatDetails, formatTarget } from './audit-output.js';

const event: AuditEvent = {
  id: 12,
  time: '2026-11-30T17:00:03.412Z',
  actor: 'ci',
  initiatedBy: 'jane',
  action: 'task.create',
  targetType: 'task',
  targetId: '3f2a9c0d1b4e5f60718293a4b5c6d7e8',
  project: 'shop',
  source: '203.0.113.9',
  details: { app: 'web', kind: 'background', initiatedBy: null },
};

describe('audit output', () => {
  it('prints one line per event, times in UTC, a task by its short id, a missing value as -', () => {
    const admin = { ...event, id: 3, actor: 'tapit-scheduler', initiatedBy: null, action: 'token.create', targetType: 'token', targetId: 'recovery', project: null, source: null, details: { role: 'admin' } };
    expect(auditTable([event, admin]).split('\n')).toEqual([
      'TIME (UTC)           ACTOR            INITIATED BY  ACTION        TARGET             PROJECT  SOURCE       DETAILS',
      '2026-11-30 17:00:03  ci               jane          task.create   task 3f2a9c0d1b4e  shop     203.0.113.9  app=web kind=background',
      '2026-11-30 17:00:03  tapit-scheduler  -             token.create  token recovery     -        -            role=admin',
    ]);
    expect(auditTable([])).toBe('No audit events.');
  });

  it('names targets that are not ids in full, and details that are not text as JSON', () => {
    expect(formatTarget({ targetType: 'app', targetId: 'shop/default/web' })).toBe('app shop/default/web');
    expect(formatDetails({ command: ['ls', '-l'], tty: false, exitCode: 0 })).toBe('command=["ls","-l"] tty=false exitCode=0');
  });
});
