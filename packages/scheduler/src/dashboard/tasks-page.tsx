/** @jsxImportSource hono/jsx */
import { TaskStatus } from '@tapit/protocol';
import { toTask, type TaskWithApp } from '../tasks/task-view.js';
import { Pager } from './filters.js';
import { Layout, type Viewer } from './layout.js';
import { listingOrder } from './task-listing.js';
import { formatCommand, formatDuration, formatStatus, formatTimestamp, formatNumber, shortId, taskDurationMs } from './format.js';

/** The filters of `tapit list tasks` (-p, -s, -a, --status) and its page size (--limit), as the page's query. */
export interface TaskFilters {
  project?: string;
  stage?: string;
  app?: string;
  status?: string;
  /** Kept across the pager's links, as the other listings keep theirs. */
  limit?: string;
}

/**
 * `live`: the path of the page's socket (dashboard/live-tasks.ts); its script updates the rows in
 * place and, on the first page, puts new tasks in. The table is there even empty, for them.
 */
export function TasksPage(props: { viewer: Viewer; filters: TaskFilters; tasks: TaskWithApp[]; nextCursor: string | null; paged: boolean; pageSize?: number; live?: string; error?: string }) {
  const { filters, tasks } = props;
  const now = new Date();
  const lockedProject = props.viewer.principal.project;
  const showTable = tasks.length > 0 || props.live !== undefined;
  return (
    <Layout title="Tasks" viewer={props.viewer} scripts={props.live ? ['tasks'] : []}>
      <h1>Tasks</h1>
      <form class="filters" method="get" action="/tasks" aria-label="Filter tasks">
        <label for="f-project">
          project
          <input id="f-project" name="project" value={lockedProject ?? filters.project ?? ''} readonly={lockedProject !== null} />
        </label>
        <label for="f-stage">
          stage
          <input id="f-stage" name="stage" value={filters.stage ?? ''} />
        </label>
        <label for="f-app">
          app
          <input id="f-app" name="app" value={filters.app ?? ''} />
        </label>
        <label for="f-status">
          status
          <select id="f-status" name="status">
            <option value="" selected={!filters.status}>any</option>
            {TaskStatus.options.map((s) => (
              <option value={s} selected={filters.status === s}>{s}</option>
            ))}
            {filters.status && !TaskStatus.options.includes(filters.status as never) && <option value={filters.status} selected>{filters.status}</option>}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      {props.error && <p class="error" role="alert">{props.error}</p>}
      {!props.error && tasks.length === 0 && <p id="no-tasks">No tasks.</p>}
      {showTable && (
        <div class="table-wrap">
          <table class="tasks" hidden={tasks.length === 0} data-live={props.live} data-first-page={String(!props.paged)} data-page-size={String(props.pageSize ?? tasks.length)}>
            <colgroup>
              <col class="c-id" />
              <col class="c-status" />
              <col class="c-app" />
              <col class="c-command" />
              <col class="c-created" />
              <col class="c-duration" />
              <col class="c-resources" />
            </colgroup>
            <thead>
              <tr>
                <th scope="col">ID</th>
                <th scope="col">STATUS</th>
                <th scope="col">APP</th>
                <th scope="col">COMMAND</th>
                <th scope="col">CREATED</th>
                <th scope="col">DURATION</th>
                <th scope="col">CPU / MEMORY</th>
              </tr>
            </thead>
            <tbody aria-live="polite">
              {tasks.map((task) => (
                <TaskRow task={task} now={now} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager path="/tasks" filters={{ ...filters }} paged={props.paged} nextCursor={props.nextCursor} older="Older tasks" />
    </Layout>
  );
}

/** One task's row: the page's, and what its live socket sends when the task changes. */
export function TaskRow(props: { task: TaskWithApp; now: Date }) {
  const task = toTask(props.task);
  const failed = (task.stopCode !== null && task.stopCode !== 'EXITED') || (task.exitCode ?? 0) !== 0;
  return (
    <tr data-task-id={task.id} data-order={listingOrder(props.task)}>
      <td class="id" data-label="ID"><a href={`/tasks/${task.id}`}>{shortId(task.id)}</a></td>
      <td data-label="STATUS" class={`status status-${task.status}${failed ? ' failed' : ''}`}>{formatStatus(task)}</td>
      <td data-label="APP">{`${task.project}/${task.stage}/${task.app}`}</td>
      <td data-label="COMMAND" class="command">{truncate(formatCommand(task.command), 60)}</td>
      <td data-label="CREATED">{formatTimestamp(task.createdAt)}</td>
      <td data-label="DURATION">{formatDuration(taskDurationMs(task, props.now))}</td>
      <td data-label="CPU / MEMORY">{`${formatNumber(task.resources.cpu)} vCPU / ${formatNumber(task.resources.memoryGb)} GB`}</td>
    </tr>
  );
}

function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}
