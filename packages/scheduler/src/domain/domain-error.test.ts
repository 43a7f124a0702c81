import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp } from '../apps/repository.js';
import { requireProject, requireRole } from '../auth/permissions.js';
import { revokeToken } from '../auth/tokens.js';
import { ApiError, toApiError } from '../http/api-error.js';
import { findTask } from '../tasks/repository.js';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { DomainError } from './domain-error.js';

// The domain throws DomainError and knows nothing of HTTP; the edges answer it as the API
// always did (same code, message, field and status).

describe('domain errors', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(() => database.drop());

  const thrown = async (work: () => unknown) => {
    try {
      await work();
    } catch (error) {
      return error;
    }
    throw new Error('did not throw');
  };

  it('are what repositories and permission checks throw', async () => {
    const cases = [
      await thrown(() => findTask(database.db, 'abcdef', null)),
      await thrown(() => findApp(database.db, { project: 'default', stage: 'default', app: 'nope' })),
      await thrown(() => revokeToken(database.db, 'nobody')),
      await thrown(() => requireRole({ name: 'v', role: 'viewer', project: null }, 'member')),
      await thrown(() => requireProject({ name: 'p', role: 'admin', project: 'one' }, 'other')),
    ];
    for (const error of cases) expect(error).toBeInstanceOf(DomainError);
    expect(cases.map((e) => (e as DomainError).code)).toEqual(['NOT_FOUND', 'NOT_FOUND', 'NOT_FOUND', 'FORBIDDEN', 'NOT_FOUND']);
    expect(cases[0]).toMatchObject({ message: 'task "abcdef" not found', field: 'task' });
  });

  it('become the API answer at the edges: code, message, field and status unchanged', () => {
    const answer = toApiError(new DomainError('CONFLICT', 'agent "a" is already revoked', 'name'));
    expect(answer).toBeInstanceOf(ApiError);
    expect(answer).toMatchObject({ status: 409, code: 'CONFLICT', message: 'agent "a" is already revoked', field: 'name' });
    expect(toApiError(new DomainError('FORBIDDEN', 'no'))).toMatchObject({ status: 403, field: undefined });
    expect(toApiError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toMatchObject({ status: 503, code: 'DATABASE_UNAVAILABLE' });
    const own = new ApiError('RATE_LIMITED', 'slow down');
    expect(toApiError(own)).toBe(own);
    expect(toApiError(new Error('a bug'))).toBeUndefined();
  });
});
