// Task rows by the million for the listing benchmarks, seeded by SQL (the API would take hours).

/** `count` task rows (bench/scale list, bench/dashboard: 1,000,000): copies of an existing task with new ids, spread over a year, mixed statuses. */
export async function seedTasks(pg, count) {
  const { rows: columns } = await pg.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'tasks' AND column_name NOT IN ('id', 'created_at', 'status')`);
  const names = columns.map((c) => `"${c.column_name}"`);
  const { rows: [template] } = await pg.query(`SELECT id FROM tasks ORDER BY created_at LIMIT 1`);
  const chunk = 100_000;
  for (let from = 0; from < count; from += chunk) {
    const n = Math.min(chunk, count - from);
    await pg.query(
      `INSERT INTO tasks (id, created_at, status, ${names.join(', ')})
       SELECT md5(random()::text || g::text), now() - (g * interval '30 seconds'),
              (ARRAY['STOPPED','STOPPED','STOPPED','STOPPED','STOPPED','STOPPED','STOPPED','STOPPED','STOPPED','RUNNING'])[1 + g % 10]::text, ${names.map((n) => `t.${n}`).join(', ')}
         FROM generate_series($1::int, $2::int) g, tasks t WHERE t.id = $3`,
      [from + 1, from + n, template.id],
    );
  }
  await pg.query('VACUUM ANALYZE tasks');
}

