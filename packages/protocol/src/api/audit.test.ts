import { describe, expect, it } from 'vitest';
import { auditEvent } from '../testing/examples.js';
import { rejectedFields, without } from '../testing/wire.js';
import { AuditAction, AuditEvent, ListAuditQuery } from './audit.js';

describe('ListAuditQuery', () => {
  it('reads URL query values: limit as a number, 50 unless told otherwise, an action as the actions it names', () => {
    expect(ListAuditQuery.parse({ since: '2026-11-30T17:00:00Z', actor: 'ci', action: 'task.stop', target: '3f2a9c', project: 'shop', limit: '10', cursor: 'abc' })).toStrictEqual({
      since: '2026-11-30T17:00:00Z',
      actor: 'ci',
      action: ['task.stop'],
      target: '3f2a9c',
      project: 'shop',
      limit: 10,
      cursor: 'abc',
    });
    expect(ListAuditQuery.parse({})).toStrictEqual({ limit: 50 });
  });

  it('takes all actions of a kind with KIND.*', () => {
    expect(ListAuditQuery.parse({ action: 'task.*' }).action).toEqual(['task.create', 'task.stop', 'task.delete', 'task.copy']);
    expect(ListAuditQuery.parse({ action: 'console.exec.*' }).action).toEqual(['console.exec.end', 'console.exec.refused']);
  });

  it.each([
    ['limit', { limit: '0' }],
    ['limit', { limit: '501' }],
    ['since', { since: '1h' }],
    ['since', { since: '2026-11-30T17:00:00' }],
    ['action', { action: 'task.created' }],
    ['action', { action: 'nothing.*' }],
    ['action', { action: '*' }],
    ['actor', { actor: '' }],
    ['target', { target: 'x'.repeat(201) }],
    ['actor', { actor: 'a\u0000b' }],
    ['project', { project: 'Shop' }],
    ['cursor', { cursor: 'c'.repeat(201) }],
    ['app', { app: 'web' }],
  ])('is refused with %s to blame (case %#)', (field, query) => {
    expect(rejectedFields(ListAuditQuery, query)).toEqual([field]);
  });

  it('says which actions an action filter takes', () => {
    const message = ListAuditQuery.safeParse({ action: 'task.run' }).error?.issues[0]?.message;
    expect(message).toContain('task.create, task.stop, task.delete');
    expect(message).toContain('such as task.*');
  });
});

describe('AuditEvent', () => {
  it('reads actions it does not know (a newer scheduler may record more)', () => {
    expect(AuditEvent.parse({ ...auditEvent, action: 'env.set' }).action).toBe('env.set');
  });

  it.each([
    ['initiatedBy', without(auditEvent, 'initiatedBy')],
    ['id', { ...auditEvent, id: 0 }],
    ['time', { ...auditEvent, time: 'yesterday' }],
    ['details', { ...auditEvent, details: null }],
  ])('%s is to blame (case %#)', (field, value) => {
    expect(rejectedFields(AuditEvent, value)).toEqual([field]);
  });

  it('has one name per action', () => {
    expect(new Set(AuditAction.options).size).toBe(AuditAction.options.length);
  });
});
