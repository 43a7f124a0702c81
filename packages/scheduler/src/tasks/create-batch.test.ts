import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHash } from '../idempotency/seal.js';
import { createTestApp, APP_PATH } from '../testing/test-app.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../testing/test-database.js';

const withKey = (k: string) => ({ 'idempotency-key': k });

/** Creates sent at once, as many clients do: the scheduler writes them in batches (create-batch.ts). */
describe.each(DATABASE_KINDS)('task creation in batches, on %s', (kind) => {
  let database: TestDatabase;
  let call: Awaited<ReturnType<typeof createTestApp>>['call'];
  const tasks = `${APP_PATH}/worker/tasks`;

  const storedTasks = (ids: string[]) => database.db.selectFrom('tasks').select(['id', 'command', 'created_at']).where('id', 'in', ids).execute();

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    ({ call } = await createTestApp(database));
    await call('POST', APP_PATH, { name: 'worker', image: 'registry.local/worker:1.0', constraints: { region: 'eu-west', zone: 'app' } });
  });
  afterAll(() => database.drop());

  it('gives each of many concurrent creates its own task, and writes them in fewer transactions than tasks', async () => {
    const commands = Array.from({ length: 40 }, (_, i) => `echo ${i}`);
    const answers = await Promise.all(commands.map((command) => call('POST', tasks, { command }, undefined, withKey(randomUUID()))));
    expect(answers.map((a) => a.status)).toEqual(commands.map(() => 201));
    expect(answers.map((a) => a.body.command[2])).toEqual(commands);
    const ids = answers.map((a) => a.body.id as string);
    expect(new Set(ids).size).toBe(commands.length);
    const stored = await storedTasks(ids);
    expect(new Map(stored.map((row) => [row.id, JSON.parse(JSON.stringify(row.command))[2]]))).toEqual(new Map(ids.map((id, i) => [id, commands[i]])));
    // A task's created_at is its batch's time on the database's clock: tasks of one batch share it.
    expect(new Set(stored.map((row) => row.created_at.getTime())).size).toBeLessThan(commands.length);
    // And each has its own history: its event and its first log line.
    for (const id of ids.slice(0, 3)) {
      const logs = await call('GET', `/v1/tasks/${id}/logs`);
      expect(logs.body.lines.map((l: { text: string }) => l.text)).toEqual(['Task status is PROVISIONING, desired status is RUNNING']);
    }
  });

  it("answers a request's own error without failing the others of its batch", async () => {
    const reusedKey = randomUUID();
    expect((await call('POST', tasks, { command: 'first use' }, undefined, withKey(reusedKey))).status).toBe(201);
    const good = Array.from({ length: 10 }, (_, i) => call('POST', tasks, { command: `good ${i}` }, undefined, withKey(randomUUID())));
    const [noRelease, noApp, reused, ...answers] = await Promise.all([
      call('POST', tasks, { command: 'x', release: 99 }, undefined, withKey(randomUUID())),
      call('POST', `${APP_PATH}/nowhere/tasks`, { command: 'x' }, undefined, withKey(randomUUID())),
      call('POST', tasks, { command: 'another body' }, undefined, withKey(reusedKey)),
      ...good,
    ]);
    expect(noRelease!.status).toBe(404);
    expect(noRelease!.body.error).toMatchObject({ code: 'NOT_FOUND', field: 'release' });
    expect(noApp!.status).toBe(404);
    expect(noApp!.body.error).toMatchObject({ code: 'NOT_FOUND', field: 'app' });
    expect(reused!.status).toBe(422);
    expect(reused!.body.error).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(answers.map((a) => a.status)).toEqual(good.map(() => 201));
    expect((await storedTasks(answers.map((a) => a.body.id))).length).toBe(good.length);
  });

  it('fails only the request whose row the database refuses, when that fails its whole batch', async () => {
    // A task the database refuses at insert (as a concurrent change could make it): its batch's
    // transaction fails, and each of its requests is then written alone.
    await sql`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.command::text LIKE '%poison%' THEN RAISE EXCEPTION 'poisoned'; END IF; RETURN NEW; END $$`.execute(database.db);
    await sql`CREATE TRIGGER refuse_poison BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION refuse_poison()`.execute(database.db);
    try {
      const poisonKey = randomUUID();
      const keys = Array.from({ length: 12 }, () => randomUUID());
      const [poison, ...answers] = await Promise.all([
        call('POST', tasks, { command: 'poison' }, undefined, withKey(poisonKey)),
        ...keys.map((k, i) => call('POST', tasks, { command: `healthy ${i}` }, undefined, withKey(k))),
      ]);
      expect(poison!.status).toBe(500);
      expect(answers.map((a) => a.status)).toEqual(keys.map(() => 201));
      expect((await storedTasks(answers.map((a) => a.body.id))).length).toBe(keys.length);
      // Their keys hold their answers; the refused request used up no key.
      const replay = await call('POST', tasks, { command: 'healthy 0' }, undefined, withKey(keys[0]!));
      expect(replay.status).toBe(200);
      expect(replay.body.id).toBe(answers[0]!.body.id);
      await sql`DROP TRIGGER refuse_poison ON tasks`.execute(database.db);
      const retried = await call('POST', tasks, { command: 'poison' }, undefined, withKey(poisonKey));
      expect(retried.status).toBe(201);
    } finally {
      await sql`DROP TRIGGER IF EXISTS refuse_poison ON tasks`.execute(database.db);
      await sql`DROP FUNCTION refuse_poison()`.execute(database.db);
    }
  });

  it('answers an idempotent retry sent during a batch with the same task, created once', async () => {
    const key = randomUUID();
    const body = { command: 'retried while in flight' };
    const [first, retry, ...others] = await Promise.all([
      call('POST', tasks, body, undefined, withKey(key)),
      call('POST', tasks, body, undefined, withKey(key)),
      ...Array.from({ length: 8 }, (_, i) => call('POST', tasks, { command: `beside ${i}` }, undefined, withKey(randomUUID()))),
    ]);
    expect([first!.status, retry!.status].sort()).toEqual([200, 201]);
    expect(retry!.body.id).toBe(first!.body.id);
    const replayed = first!.status === 200 ? first! : retry!;
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(others.map((a) => a.status)).toEqual(others.map(() => 201));
    const stored = await database.db.selectFrom('tasks').select('id').where(sql<boolean>`command::text LIKE '%retried while in flight%'`).execute();
    expect(stored).toEqual([{ id: first!.body.id }]);
  });

  it('answers each create with its task exactly as it reads back, whatever the request set', async () => {
    // A batch of new keys is answered from the rows as they will be stored, before they are
    // (createWithNewKeys): each answer must be what reading the task gives.
    const bodies = [
      { command: 'plain' },
      { command: 'sized', cpu: 0.5, memoryGb: 1.5, maxHours: 2, ephemeralStorageGb: 3, initiatedBy: 'ci' },
      { command: 'with env', env: { TOKEN: 'x', MODE: 'y' } },
      // Labels of the app's and the task's own, of several lengths: a jsonb object keeps its keys in its own order.
      { command: 'labelled', constraints: { zone: 'a', gpu: 'b', 'x-rack-long-name': 'c', az: 'd' }, keepSeconds: 60 },
      { command: 'from an image', image: 'registry.local/other:2' },
      { args: ['bash'], kind: 'interactive', terminal: { cols: 100, rows: 30 } },
      { args: ['run', '--fast'], entrypoint: ['/bin/tool'] },
    ];
    const answers = await Promise.all(bodies.map((body, i) => call('POST', tasks, body, undefined, i % 2 === 0 ? withKey(randomUUID()) : undefined)));
    expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 201));
    // As text: key order included, as a client comparing the two would see them.
    for (const answer of answers) expect(JSON.stringify((await call('GET', `/v1/tasks/${answer.body.id}`)).body)).toBe(JSON.stringify(answer.body));
    // And a retry is answered the same again, from the key's stored answer.
    const retried = await call('POST', tasks, bodies[2], undefined, withKey('retry-' + answers[2]!.body.id));
    const again = await call('POST', tasks, bodies[2], undefined, withKey('retry-' + answers[2]!.body.id));
    expect([retried.status, again.status]).toEqual([201, 200]);
    expect(again.body).toEqual(retried.body);
  });

  it('writes a batch of new keys as one statement, and one with a key taken by a transaction that claims first', async () => {
    // `cmin`: the command of its transaction that wrote a row. One statement without a
    // transaction writes everything as its first command; the claiming transaction writes the
    // tasks after the keys' claim, and each key's answer by a later UPDATE.
    const commandOf = async (table: 'tasks' | 'idempotency_keys', column: string, values: string[]) =>
      (await sql<{ cmin: string }>`SELECT cmin::text AS cmin FROM ${sql.table(table)} WHERE ${sql.ref(column)} IN (${sql.join(values)})`.execute(database.db)).rows.map((row) => Number(row.cmin));
    const keys = Array.from({ length: 10 }, () => randomUUID());
    const fresh = await Promise.all(keys.map((k, i) => call('POST', tasks, { command: `fresh batch ${i}` }, undefined, withKey(k))));
    expect(fresh.map((a) => a.status)).toEqual(keys.map(() => 201));
    expect(new Set(await commandOf('tasks', 'id', fresh.map((a) => a.body.id)))).toEqual(new Set([0]));
    expect(new Set(await commandOf('idempotency_keys', 'key_hash', keys.map(keyHash)))).toEqual(new Set([0]));

    const retried = keys[0]!;
    const others = Array.from({ length: 10 }, () => randomUUID());
    const [replay, ...mixed] = await Promise.all([
      call('POST', tasks, { command: 'fresh batch 0' }, undefined, withKey(retried)),
      ...others.map((k, i) => call('POST', tasks, { command: `beside a retry ${i}` }, undefined, withKey(k))),
    ]);
    expect(replay!.status).toBe(200);
    expect(replay!.body.id).toBe(fresh[0]!.body.id);
    expect(mixed.map((a) => a.status)).toEqual(others.map(() => 201));
    expect((await commandOf('tasks', 'id', mixed.map((a) => a.body.id))).every((command) => command > 0)).toBe(true);
  });

  it('creates anew on a key whose row expired, beside creates on new keys', async () => {
    const key = randomUUID();
    const first = await call('POST', tasks, { command: 'before expiry' }, undefined, withKey(key));
    expect(first.status).toBe(201);
    await database.db.updateTable('idempotency_keys').set({ expires_at: new Date(Date.now() - 1000) }).where('key_hash', '=', keyHash(key)).execute();
    const [reused, ...others] = await Promise.all([
      call('POST', tasks, { command: 'after expiry' }, undefined, withKey(key)),
      ...Array.from({ length: 6 }, (_, i) => call('POST', tasks, { command: `fresh ${i}` }, undefined, withKey(randomUUID()))),
    ]);
    expect(reused!.status).toBe(201);
    expect(reused!.body.id).not.toBe(first.body.id);
    expect(others.map((a) => a.status)).toEqual(others.map(() => 201));
    const replay = await call('POST', tasks, { command: 'after expiry' }, undefined, withKey(key));
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(reused!.body.id);
  });

  it('records one audit event per task created in a batch, with its own details', async () => {
    const answers = await Promise.all(
      Array.from({ length: 15 }, (_, i) => call('POST', tasks, { command: `audited ${i}`, initiatedBy: `caller-${i}`, ...(i % 3 === 0 ? { env: { SECRET: 'x' } } : {}) }, undefined, withKey(randomUUID()))),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 201));
    const events = await database.db.selectFrom('audit_events').selectAll().where('action', '=', 'task.create').where('target_id', 'in', answers.map((a) => a.body.id)).execute();
    expect(events).toHaveLength(answers.length);
    answers.forEach((answer, i) => {
      const event = events.find((e) => e.target_id === answer.body.id)!;
      expect(event).toMatchObject({ actor: 'bootstrap', initiated_by: `caller-${i}`, target_type: 'task', project: 'default' });
      expect(event.details).toEqual({ app: 'worker', kind: 'background', ...(i % 3 === 0 ? { envKeys: ['SECRET'] } : {}) });
    });
  });
});
