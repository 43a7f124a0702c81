import { Agent } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_IMAGE } from '../support/agent.js';
import { api, expectStatus } from '../support/fuzz/api.js';
import { checkWithin, fuzzBudget, FUZZ_SCHEDULER_ENV } from '../support/fuzz/fuzz-run.js';
import { describeExchange, mayBeCutOff, problemWith, send, sendRaw, type Answer } from '../support/fuzz/http-send.js';
import { dictionaryOf, operationsOf, requestsOf, type FuzzRequest, type Operation } from '../support/fuzz/openapi-requests.js';
import { rawRequests } from '../support/fuzz/raw-requests.js';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';
import { HOOK_TIMEOUT_MS } from '../support/repo.js';
import { startScheduler, type RunningScheduler } from '../support/scheduler.js';

/*
 * RELIABILITY.md scenario 16, HTTP side: requests generated from the scheduler's own OpenAPI
 * description (valid, broken and hostile parameters and bodies), with an admin token, a
 * member token limited to one project, a viewer token, broken tokens and none, sent to the
 * built scheduler on a fresh Postgres database. Over real HTTP rather than `app.request()`: it
 * also covers Node's HTTP parsing, the body limit and the process itself (a crash ends the run),
 * and loopback is fast enough for the budget. Never a 5xx; every error the API's shape.
 */

let db: FreshDatabase;
let scheduler: RunningScheduler;
const keepAlive = new Agent({ keepAlive: true, maxSockets: 4 });

/** The fuzzer's own tokens: never revoked by a generated request, or the rest of the run would only see 401. */
const OWN_TOKENS = ['bootstrap', 'fuzz-admin', 'fuzz-member', 'fuzz-viewer'];
const secrets: Record<string, string> = {};
const known: Record<string, string[]> = {};

const call = (method: string, path: string, body?: unknown, token?: string) => api(scheduler, method, path, body, token);
const created = (method: string, path: string, body: unknown) => expectStatus(scheduler, 201, method, path, body);

beforeAll(async () => {
  db = await createDatabase();
  scheduler = await startScheduler(FUZZ_SCHEDULER_ENV, { databaseUrl: db.url });
  // Something of each kind to find: a second project, apps, tasks (one stopped), schedules, tokens.
  await created('POST', '/v1/projects', { name: 'fuzz' });
  const ids: string[] = [];
  for (const project of ['default', 'fuzz']) {
    await created('POST', `/v1/projects/${project}/stages/default/apps`, { name: 'web', image: TEST_IMAGE });
    for (let i = 0; i < 3; i++) ids.push((await created('POST', `/v1/projects/${project}/stages/default/apps/web/tasks`, { command: `echo ${i}` })).id);
    await call('POST', `/v1/tasks/${ids[ids.length - 1]}/stop`);
    // Schedule ids take the same {id} place as task ids.
    for (const cron of ['@daily', '@hourly']) ids.push((await created('POST', `/v1/projects/${project}/stages/default/apps/web/schedules`, { cron, command: 'echo hi' })).id);
    // Webhooks to find (and replace, and remove): the app's and one schedule's own.
    await call('PUT', `/v1/projects/${project}/stages/default/apps/web/webhook`, { url: 'https://alerts.example.invalid/tapit' });
    await call('PUT', `/v1/schedules/${ids[ids.length - 1]}/webhook`, { url: 'https://alerts.example.invalid/nightly?token=x' });
  }
  for (const [name, role, project] of [['fuzz-admin', 'admin'], ['fuzz-member', 'member', 'fuzz'], ['fuzz-viewer', 'viewer'], ['fuzz-victim', 'viewer']] as const) {
    secrets[name] = (await created('POST', '/v1/tokens', { name, role, ...(project ? { project } : {}) })).token;
  }
  Object.assign(known, {
    project: ['default', 'fuzz'],
    stage: ['default'],
    app: ['web'],
    id: [...ids, ...ids.map((id) => id.slice(0, 4)), ...ids.map((id) => id.slice(0, 10))],
    name: ['fuzz-victim'],
  });
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  keepAlive.destroy();
  await scheduler?.stop();
  await db?.drop();
}, HOOK_TIMEOUT_MS);

/** The scheduler's last words, for a failure message: an internal error's stack is there. */
const schedulerLog = () => `--- scheduler output (end) ---\n${scheduler.output().slice(-4000)}`;

function decodedSegments(target: string): string[] {
  return target
    .split('?')[0]!
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
}

/** Tallies per operation, so a run that never reached the handlers cannot pass unnoticed. */
type Tally = { sent: number; success: number; clientError: number };

describe('the HTTP API, fuzzed from its OpenAPI description', () => {
  const budget = fuzzBudget(600, 240_000);

  it(
    `answers ${budget.numRuns} batches of generated requests with a described status or a 4xx in the API's error shape, never a 5xx; the process lives on`,
    async () => {
      const document = (await call('GET', '/v1/openapi.json')).body;
      const operations: Operation[] = operationsOf(document);
      expect(operations.length).toBeGreaterThan(20);
      const authorizations = {
        valid: [`Bearer ${secrets['fuzz-admin']}`, `Bearer ${secrets['fuzz-admin']}`, `Bearer ${secrets['fuzz-member']}`, `Bearer ${secrets['fuzz-member']}`, `Bearer ${secrets['fuzz-viewer']}`],
        broken: ['', 'Bearer nope', 'Bearer', `bearer ${secrets['fuzz-viewer']}`, `Bearer ${secrets['fuzz-admin']} extra`, 'Basic dXNlcjpwYXNz', `Bearer ${'x'.repeat(4000)}`, `Bearer ${secrets['fuzz-victim']}`],
      };
      const requests = requestsOf(operations, {
        known,
        authorizations,
        dictionary: [...dictionaryOf(document), ...Object.values(known).flat()],
        seeds: {
          'POST /v1/projects/{project}/stages/{stage}/apps/{app}/tasks': [{ command: 'echo hi' }, { args: ['true'], cpu: 0.5, memoryGb: 0.25 }, { command: 'sh', kind: 'interactive', terminal: { cols: 80, rows: 24 } }, { args: ['x'], release: 1 }],
          'POST /v1/projects/{project}/stages/{stage}/apps/{app}/releases': [{ image: TEST_IMAGE }, { image: 'registry.example:5000/team/web@sha256:' + 'a'.repeat(64) }],
          'POST /v1/projects/{project}/stages/{stage}/apps/{app}/schedules': [{ cron: '@daily', command: 'echo hi' }, { cron: '30 2 * * 1-5', timezone: 'Europe/Berlin', args: ['true'], concurrency: 'forbid', missed: 'latest', startingDeadlineSeconds: 600, retries: 2 }],
          'PUT /v1/schedules/{id}/webhook': [{ url: 'https://alerts.example.invalid/tapit' }, { url: 'http://127.0.0.1:9/hook' }],
          'PUT /v1/projects/{project}/stages/{stage}/apps/{app}/webhook': [{ url: 'https://alerts.example.invalid/app' }],
          'POST /v1/projects/{project}/stages/{stage}/apps': [{ name: 'api', image: TEST_IMAGE }, { name: 'worker', image: 'busybox:1.36', cpu: 1, memoryGb: 2, maxHours: null }],
        },
        // DELETE /v1/tokens/{name} of the fuzzer's own tokens would leave it nothing but 401s.
        allowed: (r) => !(r.method === 'DELETE' && decodedSegments(r.target).some((s) => OWN_TOKENS.includes(s))),
      });
      const tally = new Map<string, Tally>(operations.map((op) => [op.key, { sent: 0, success: 0, clientError: 0 }]));
      const byKey = new Map(operations.map((op) => [op.key, op]));

      await checkWithin(
        fc.asyncProperty(fc.array(requests, { minLength: 1, maxLength: 4 }), async (batch: FuzzRequest[]) => {
          // A batch goes out at once: concurrent requests meet in the database.
          const answers = await Promise.all(batch.map((r) => send(scheduler.url, keepAlive, r).catch((error: Error) => error)));
          batch.forEach((request, i) => {
            const answer = answers[i]!;
            if (answer instanceof Error && mayBeCutOff(request) && /ECONNRESET|EPIPE|socket hang up/.test(answer.message)) return;
            if (answer instanceof Error) throw new Error(`${describeExchange(request, undefined, `no answer: ${answer.message}`)}\n${schedulerLog()}`);
            const op = byKey.get(request.operation)!;
            const problem = problemWith(answer, { method: request.method, success: op.success, described: request.described });
            if (problem) throw new Error(`${describeExchange(request, answer, problem)}\n${schedulerLog()}`);
            const t = tally.get(op.key)!;
            t.sent++;
            if (answer.status < 400 && request.described) t.success++;
            if (answer.status >= 400) t.clientError++;
          });
          if (scheduler.process.exitCode !== null || scheduler.process.signalCode !== null) throw new Error(`the scheduler exited\n${schedulerLog()}`);
        }),
        budget,
      );

      // Every operation was tried, and most succeeded at least once: the handlers themselves ran,
      // not only the checks in front of them. (A recording needs a console session, which no
      // request here can make.)
      const table = [...tally].map(([key, t]) => `${key}: ${t.sent} sent, ${t.success} succeeded, ${t.clientError} refused`).join('\n');
      if (budget.full) for (const [key, t] of tally) expect(t.sent, `${key} was never tried\n${table}`).toBeGreaterThan(0);
      const succeeded = [...tally.values()].filter((t) => t.success > 0).length;
      if (budget.full) expect(succeeded, `too few operations ever succeeded:\n${table}`).toBeGreaterThanOrEqual(Math.floor(operations.length * 0.8));

      // The scheduler still answers a normal request, with the tokens it had.
      expect((await call('GET', '/healthz')).status).toBe(200);
      expect((await call('GET', '/v1/whoami')).body).toMatchObject({ name: 'bootstrap', role: 'admin' });
      expect((await call('GET', '/v1/tasks?limit=5', undefined, secrets['fuzz-member']!)).status).toBe(200);
    },
    budget.timeoutMs,
  );

  const rawBudget = fuzzBudget(400, 120_000);
  it(
    `answers ${rawBudget.numRuns} malformed HTTP/1.1 requests (request lines, headers, lengths, chunking) with a 4xx in the API's error shape`,
    async () => {
      await checkWithin(
        fc.asyncProperty(rawRequests(), async (raw) => {
          const request = { method: 'raw', target: '', headers: {}, body: raw.text };
          const answer: Answer | Error = await sendRaw(scheduler.url, raw.bytes).catch((error: Error) => error);
          if (answer instanceof Error) throw new Error(`${describeExchange(request, undefined, `no answer: ${answer.message}`)}\n${schedulerLog()}`);
          // Malformed or not, nothing here is a described success but a plain GET.
          const problem = problemWith(answer, { method: 'GET', success: [200], described: true });
          if (problem) throw new Error(`${describeExchange(request, answer, problem)}\n${schedulerLog()}`);
          if (scheduler.process.exitCode !== null || scheduler.process.signalCode !== null) throw new Error(`the scheduler exited\n${schedulerLog()}`);
        }),
        rawBudget,
      );
      expect((await call('GET', '/v1/whoami')).status).toBe(200);
    },
    rawBudget.timeoutMs,
  );
});
