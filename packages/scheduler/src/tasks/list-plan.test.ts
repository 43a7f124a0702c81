import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStatus } from '@tapit/protocol';
import { createTestDatabase, type TestDatabase } from '../testing/test-database.js';
import { listTasksQuery, type TaskFilter } from './repository.js';

// The plans of `tapit list tasks` on a table far larger than a page: every filter it offers must
// be an ordered index scan that stops after the page, never "read every match, then sort". At
// 20,000 rows (as bench/scale seeds its million: copies of one task, 10 % RUNNING, 30 s apart)
// the planner already picked the partial active-task index and a sort for status=RUNNING, which
// at a million rows took a second. Plans only: no timings.
const ROWS = 20_000;
const PAGE = 50;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Alias?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
}

const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)];

describe('list tasks plans on postgres, 20,000 rows', () => {
  let database: TestDatabase;
  let cursorId: string;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    const { db } = database;
    await sql`INSERT INTO apps (project, stage, name, image, default_cpu, default_memory_gb) VALUES ('default', 'default', 'bench', 'bench/none:1', 1, 1), ('default', 'default', 'other', 'bench/none:1', 1, 1)`.execute(db);
    await sql`INSERT INTO tasks (id, app_id, image, command, kind, cpu, memory_gb, created_by, status, desired_status)
      SELECT 'template', id, image, '["exit 0"]', 'background', 1, 1, 'bench', 'PROVISIONING', 'RUNNING' FROM apps WHERE name = 'bench'`.execute(db);
    // As bench/scale's seed: copies of the task, newest first, every tenth RUNNING, the rest STOPPED
    // but for one in 200 PENDING (a rare status: read through a partial index and sorted, without its own).
    await sql`INSERT INTO tasks (id, app_id, image, command, kind, cpu, memory_gb, created_by, status, desired_status, created_at)
      SELECT md5(g::text), t.app_id, t.image, t.command, t.kind, t.cpu, t.memory_gb, t.created_by,
             CASE WHEN g % 10 = 9 THEN 'RUNNING' WHEN g % 200 = 7 THEN 'PENDING' ELSE 'STOPPED' END, t.desired_status, now() - g * interval '30 seconds'
        FROM generate_series(1, ${ROWS}::int) g, tasks t WHERE t.id = 'template'`.execute(db);
    // A second, small app: an app scope is not the whole table.
    await sql`INSERT INTO tasks (id, app_id, image, command, kind, cpu, memory_gb, created_by, status, desired_status, created_at)
      SELECT md5('other' || g::text), a.id, a.image, '["exit 0"]', 'background', 1, 1, 'bench',
             CASE WHEN g % 10 = 9 THEN 'RUNNING' ELSE 'STOPPED' END, 'RUNNING', now() - g * interval '31 seconds'
        FROM generate_series(1, 500) g, apps a WHERE a.name = 'other'`.execute(db);
    await sql`VACUUM ANALYZE tasks`.execute(db);
    // A cursor deep in the table, as a second page of a long listing.
    cursorId = (await sql<{ id: string }>`SELECT id FROM tasks ORDER BY created_at DESC, id DESC OFFSET 5000 LIMIT 1`.execute(db)).rows[0].id;
  }, 120_000);
  afterAll(() => database?.drop());

  /** The plan, with actual row counts, of the statement listTasks sends for `filter`. */
  async function planOf(filter: Omit<TaskFilter, 'limit'>, cursor?: string): Promise<PlanNode> {
    const compiled = listTasksQuery(database.db, { ...filter, limit: PAGE }, cursor).compile();
    const { rows } = await database.db.executeQuery<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      CompiledQuery.raw(`EXPLAIN (ANALYZE, FORMAT JSON) ${compiled.sql}`, [...compiled.parameters]),
    );
    return rows[0]['QUERY PLAN'][0].Plan;
  }

  const scopes: [string, Omit<TaskFilter, 'limit'>][] = [
    ['all projects', {}],
    ['a project', { project: 'default' }],
    ['a stage (--all-apps)', { project: 'default', stage: 'default' }],
    ['an app (as `tapit list tasks -a`)', { project: 'default', stage: 'default', app: 'bench' }],
  ];
  const statuses: [string, TaskStatus[] | undefined][] = [
    ['any status', undefined],
    ['status=RUNNING', ['RUNNING']],
    ['status=PENDING (rare)', ['PENDING']],
  ];
  const cases = scopes.flatMap(([scope, filter]) =>
    statuses.flatMap(([status, list]) => [
      { name: `${scope}, ${status}, first page`, filter: { ...filter, status: list }, cursor: false },
      { name: `${scope}, ${status}, a page deep in (cursor)`, filter: { ...filter, status: list }, cursor: true },
    ]),
  );

  it.each(cases)('$name: ordered index scans that stop after the page', async ({ filter, cursor }) => {
    const plan = await planOf(filter, cursor ? cursorId : undefined);
    const nodes = nodesOf(plan);
    const shape = JSON.stringify(nodes.map((n) => `${n['Node Type']}${n['Index Name'] ? ` ${n['Index Name']}` : ''}`));
    expect(plan['Node Type'], shape).toBe('Limit');
    const listed = nodes.filter((n) => n['Relation Name'] === 'tasks' && n.Alias === 'tasks');
    expect(listed.map((n) => n['Node Type']), shape).toEqual(['Index Scan']);
    // Stops after the page: rows read (kept or filtered out), over every app of the scope (two
    // here), a small multiple of a page, never the table. A sort may only order those pages.
    const read = ((listed[0]['Actual Rows'] ?? 0) + (listed[0]['Rows Removed by Filter'] ?? 0)) * (listed[0]['Actual Loops'] ?? 1);
    expect(read, shape).toBeLessThanOrEqual(2 * 10 * (PAGE + 1));
    const sorted = nodes.filter((n) => n['Node Type'].includes('Sort')).flatMap((n) => (n.Plans ?? []).map((child) => (child['Actual Rows'] ?? 0) * (child['Actual Loops'] ?? 1)));
    for (const rows of sorted) expect(rows, shape).toBeLessThanOrEqual(2 * (PAGE + 1));
  });
});
