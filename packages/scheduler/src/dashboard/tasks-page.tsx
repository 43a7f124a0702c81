/** @jsxImportSource hono/jsx */
import { TaskStatus, type Task } from '@tapit/protocol';
import { Layout, type Viewer } from './layout.js';
import { formatCommand, formatDuration, formatStatus, formatTimestamp, formatNumber, shortId, taskDurationMs } from './format.js';

/** The filters of `tapit list tasks` (-p, -s, -a, --status), as the page's query. */
export interface TaskFilters {
  project?: string;
  stage?: string;
  app?: string;
  status?: string;
}

export function tasksHref(filters: TaskFilters, cursor?: string): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters)) if (value) query.set(key, value);
  if (cursor) query.set('cursor', cursor);
  const text = query.toString();
  return text ? `/tasks?${text}` : '/tasks';
}

export function TasksPage(props: { viewer: Viewer; filters: TaskFilters; tasks: Task[]; nextCursor: string | null; paged: boolean; error?: string }) {
  const { filters, tasks } = props;
  const now = new Date();
  const lockedProject = props.viewer.principal.project;
  return (
    <Layout title="Tasks" viewer={props.viewer}>
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
      {!props.error && tasks.length === 0 && <p>No tasks.</p>}
      {tasks.length > 0 && (
        <div class="table-wrap">
          <table class="tasks">
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
            <tbody>
              {tasks.map((task) => (
                <tr>
                  <td class="id" data-label="ID"><a href={`/tasks/${task.id}`}>{shortId(task.id)}</a></td>
                  <td data-label="STATUS" class={`status-${task.status}${task.stopCode !== null && task.stopCode !== 'EXITED' || (task.exitCode ?? 0) !== 0 ? ' failed' : ''}`}>{formatStatus(task)}</td>
                  <td data-label="APP">{`${task.project}/${task.stage}/${task.app}`}</td>
                  <td data-label="COMMAND" class="command">{truncate(formatCommand(task.command), 60)}</td>
                  <td data-label="CREATED">{formatTimestamp(task.createdAt)}</td>
                  <td data-label="DURATION">{formatDuration(taskDurationMs(task, now))}</td>
                  <td data-label="CPU / MEMORY">{`${formatNumber(task.resources.cpu)} vCPU / ${formatNumber(task.resources.memoryGb)} GB`}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Pages">
        {props.paged && <a href={tasksHref(filters)}>Newest</a>}
        {props.nextCursor && <a href={tasksHref(filters, props.nextCursor)} rel="next">Older tasks</a>}
      </nav>
    </Layout>
  );
}

function truncate(text: string, max: number): string {
  const oneLine = text.replace(/\s*\n\s*/g, ' ');
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}
