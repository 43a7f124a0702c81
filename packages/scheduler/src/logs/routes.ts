import { LogQuery, type LogFollowEvent } from '@tapit/protocol';
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { sql } from 'kysely';
import type { AppDeps, HonoEnv } from '../http/context.js';
import { parseQuery } from '../http/validate.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import { findTask } from '../tasks/repository.js';
import { readLogLines } from './repository.js';

const FollowQuery = LogQuery.pick({ after: true });
const BATCH = 5000;

export function logRoutes(deps: AppDeps) {
  const { db, signals } = deps;
  const pollMs = deps.followPollMs ?? 500;
  // A quiet task's follow still sends a blank line this often: clients and proxies that drop
  // idle connections (the CLI after 300 s) keep it, and a dead one is noticed.
  const keepAliveMs = deps.followKeepAliveMs ?? 30_000;
  const routes = new Hono<HonoEnv>();

  /**
   * The task's status and whether its log is complete: STOPPED, and not waiting for its agent's
   * late report (a task the scheduler ended while its agent was cut off: see backstops.ts).
   */
  const readLogState = (taskId: string) =>
    db
      .selectFrom('tasks')
      .select(['status', 'exit_code'])
      .select(sql<boolean>`status = 'STOPPED' AND (late_report_until IS NULL OR late_report_until <= now())`.as('complete'))
      .where('id', '=', taskId)
      .executeTakeFirst();

  routes.get('/tasks/:id/logs', async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('principal').project);
    const { after, limit, tail } = parseQuery(c, LogQuery);
    // Status first: lines stored before it are then all in the read below.
    const state = await readLogState(task.id);
    const lines = await readLogLines(db, task.id, after, tail ?? limit, tail !== undefined);
    return c.json({
      lines,
      last: lines.length > 0 ? lines[lines.length - 1].position : after,
      complete: state?.complete === true && (tail !== undefined || lines.length < limit),
    });
  });

  /**
   * Newline-delimited JSON: every line after `after`, status changes as they happen, and one
   * `end` once the task's log is complete (STOPPED, and its agent's last lines are in or will not
   * come: `readLogState`) and every stored line was sent. Woken by local changes, polling for
   * changes made by other replicas.
   */
  routes.get('/tasks/:id/logs/follow', async (c) => {
    const task = await findTask(db, c.req.param('id'), c.get('principal').project);
    let { after } = parseQuery(c, FollowQuery);
    c.header('content-type', 'application/x-ndjson');
    c.header('cache-control', 'no-store');
    return stream(c, async (out) => {
      let wake: (() => void) | undefined;
      let aborted = false;
      const unsubscribe = signals.onTaskChanged(task.id, () => wake?.());
      // A revoked token ends the stream; the follower's next request is refused.
      const unwatch = deps.tokenWatch.watch(c.get('principal').name, () => {
        aborted = true;
        wake?.();
      });
      out.onAbort(() => {
        aborted = true;
        wake?.();
      });
      let lastWrite = Date.now();
      const write = (text: string) => {
        lastWrite = Date.now();
        return out.write(text);
      };
      const send = (event: LogFollowEvent) => write(`${JSON.stringify(event)}\n`);
      let lastStatus: string | undefined;
      const pause = (ms: number) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, ms);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        }).finally(() => (wake = undefined));
      try {
        while (!aborted) {
          try {
            // Catch up in full batches first; the status is only needed once caught up.
            const backlog = await readLogLines(db, task.id, after, BATCH);
            for (const line of backlog) await send({ type: 'line', line });
            if (backlog.length > 0) after = backlog[backlog.length - 1].position;
            if (backlog.length === BATCH) continue;
            // Status, then lines: every line stored before the status was read is sent below.
            const state = await readLogState(task.id);
            const lines = await readLogLines(db, task.id, after, BATCH);
            for (const line of lines) await send({ type: 'line', line });
            if (lines.length > 0) after = lines[lines.length - 1].position;
            if (lines.length === BATCH) continue;
            if (!state) break; // deleted while followed
            if (state.status !== lastStatus) {
              lastStatus = state.status;
              await send({ type: 'status', status: state.status as never });
            }
            if (state.complete) {
              await send({ type: 'end', status: 'STOPPED', exitCode: state.exit_code });
              break;
            }
          } catch (error) {
            // The database is away: the follow holds its place (and its client, with keep-alive
            // lines) and reads on once it answers, rather than ending early or with a 500.
            if (!isDatabaseUnavailable(error)) throw error;
          }
          if (aborted) break; // the client left, or its token was revoked, while we read
          if (Date.now() - lastWrite >= keepAliveMs) await write('\n');
          await pause(pollMs);
        }
      } finally {
        unsubscribe();
        unwatch();
      }
    });
  });

  return routes;
}
