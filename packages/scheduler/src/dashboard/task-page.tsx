/** @jsxImportSource hono/jsx */
import { formatLogLine, type LogLine, type Task } from '@tapit/protocol';
import type { Principal } from '../auth/tokens.js';
import type { TaskEvent } from '../tasks/repository.js';
import { Layout, type Viewer } from './layout.js';
import { formatCommand, formatTimestamp, shellJoin, shortId, taskDetails } from './format.js';

/** The end of a task's log as read for its page. */
export interface LogTail {
  lines: LogLine[];
  /** Lines the log holds in all (positions 1 to this). */
  total: number;
  expiredAt: string | null;
}

/** A console or exec session of the task, as `tapit list consoles` lists it. */
export interface ConsoleSessionRow {
  id: string;
  mode: 'attach' | 'exec';
  command: string[] | null;
  openedBy: string;
  openedAt: string;
  closedAt: string | null;
  exitCode: number | null;
  endReason: string | null;
}

/**
 * A task's page. While it is not finished, its script (client/entries/task.ts) follows it through
 * `/live/tasks/ID?after=N` (dashboard/live-task.ts): the details, events and buttons as they change,
 * and the log's lines after those shown, as `tapit show logs --follow` prints them.
 */
export function TaskPage(props: { viewer: Viewer; task: Task; events: TaskEvent[]; log: LogTail; consoles: ConsoleSessionRow[] }) {
  const { task, log } = props;
  const live = log.expiredAt === null ? `/live/tasks/${task.id}?after=${log.total}` : undefined;
  return (
    <Layout title={`Task ${shortId(task.id)}`} viewer={props.viewer} scripts={['task']}>
      <p><a href="/tasks">← Tasks</a></p>
      <h1>Task {shortId(task.id)}</h1>
      <div id="task-actions">
        <TaskActions task={task} principal={props.viewer.principal} />
      </div>
      <dl class="details" id="task-details">
        <TaskDetails task={task} />
      </dl>
      <h2 id="events">Events</h2>
      <div id="task-events">
        <TaskEvents events={props.events} />
      </div>
      {props.consoles.length > 0 && <ConsoleSessions sessions={props.consoles} />}
      <h2 id="log">{logHeading(log)}</h2>
      {log.expiredAt !== null ? (
        <p class="muted">The log expired at {formatTimestamp(log.expiredAt)} (its app's log retention).</p>
      ) : (
        <>
          <div class="log-tools">
            <a href={`/tasks/${task.id}/log.txt`} download>Download raw</a>
            {/* Search and jump work on the lines loaded here: the script shows them. */}
            <span class="js-only" hidden>
              <label for="log-search" class="visually-hidden">Search the log</label>
              <input id="log-search" type="search" placeholder="Search the log" autocomplete="off" />
              <span id="log-matches" class="muted" aria-live="polite"></span>
              <button type="button" id="log-end">Jump to the end</button>
            </span>
          </div>
          {log.lines.length === 0 && <p class="muted" id="log-empty">(empty)</p>}
          <pre class="log" id="log-lines" aria-labelledby="log" tabindex={0} hidden={log.lines.length === 0} data-live={live} data-first={log.lines[0]?.position ?? log.total + 1} data-last={log.total}>
            {log.lines.map((line) => (
              <span class={line.stream === 'system' ? 'line system' : 'line'}>{`${formatLogLine(line)}\n`}</span>
            ))}
          </pre>
        </>
      )}
      <p class="muted">In a terminal: <code>{`tapit show logs task=${shortId(task.id)}`}</code></p>
    </Layout>
  );
}

/** What `tapit show task` prints, as the page's details (and what its live socket sends again when the task changes). */
export function TaskDetails(props: { task: Task }) {
  // `tapit show task`'s own rows.
  const rows = taskDetails(props.task);
  return (
    <>
      {rows.map(([key, value]) => (
        <>
          <dt>{key}</dt>
          <dd data-field={key}>{value}</dd>
        </>
      ))}
    </>
  );
}

/** The task's status changes (`task_events`), oldest first: when each status and desired status began. */
export function TaskEvents(props: { events: TaskEvent[] }) {
  return (
    <table class="cards events" aria-labelledby="events">
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Status</th>
          <th scope="col">Desired status</th>
          <th scope="col">Message</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((event) => (
          <tr>
            <td data-label="Time">{formatTimestamp(event.at.toISOString())}</td>
            <td data-label="Status">{event.status}</td>
            <td data-label="Desired status">{event.desiredStatus}</td>
            <td data-label="Message">{event.message ?? '-'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Stop and delete, for a token that may (a member or an admin): each a link to its confirmation
 * page, whose form posts it (works without JavaScript; dashboard/task-routes.tsx).
 */
export function TaskActions(props: { task: Task; principal: Principal }) {
  const { task, principal } = props;
  if (principal.role === 'viewer') return <></>;
  const canStop = task.status !== 'STOPPED' && task.desiredStatus === 'RUNNING';
  const canDelete = task.status === 'STOPPED';
  // A console, or a command in the task, as `tapit task:attach` opens them: a RUNNING task's.
  const canConsole = task.status === 'RUNNING';
  if (!canStop && !canDelete && !canConsole) return <></>;
  return (
    <div class="actions">
      {canConsole && task.kind === 'interactive' && <a class="button primary" href={`/tasks/${task.id}/console`}>Open the console</a>}
      {canConsole && (
        <form class="exec" method="get" action={`/tasks/${task.id}/exec`} aria-label="Run a command in the task">
          <label for="exec-command">
            command
            <input id="exec-command" name="command" value="sh" required />
          </label>
          <button type="submit">Run in the task</button>
        </form>
      )}
      {canStop && <a class="button" href={`/tasks/${task.id}/stop`}>Stop…</a>}
      {canDelete && <a class="button danger" href={`/tasks/${task.id}/delete`}>Delete…</a>}
    </div>
  );
}

/** The task's console and exec sessions, each with its recording to play. */
function ConsoleSessions(props: { sessions: ConsoleSessionRow[] }) {
  return (
    <>
      <h2 id="consoles">Consoles</h2>
      <div class="table-wrap">
        <table class="consoles">
          <thead>
            <tr><th>Session</th><th>Mode</th><th>Command</th><th>Opened by</th><th>Opened</th><th>Closed</th><th>Exit</th><th>Recording</th></tr>
          </thead>
          <tbody>
            {props.sessions.map((s) => (
              <tr>
                <td class="id">{shortId(s.id)}</td>
                <td>{s.mode}</td>
                <td class="command">{s.command ? shellJoin(s.command) : '-'}</td>
                <td>{s.openedBy}</td>
                <td>{formatTimestamp(s.openedAt)}</td>
                <td>{s.closedAt ? `${formatTimestamp(s.closedAt)}${s.endReason ? ` (${s.endReason})` : ''}` : 'open'}</td>
                <td>{s.exitCode === null ? '-' : String(s.exitCode)}</td>
                <td><a href={`/consoles/${s.id}`} aria-label={`Play the recording of session ${shortId(s.id)}`}>Play</a></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Asks before a stop or a delete; the form carries the session's CSRF token. */
export function ConfirmPage(props: { viewer: Viewer; task: Task; action: 'stop' | 'delete' }) {
  const { task, action } = props;
  const what = action === 'stop' ? 'Stop' : 'Delete';
  const explain =
    action === 'stop'
      ? `The task's container is sent SIGTERM, then SIGKILL after its grace period; it ends STOPPED with USER_STOPPED, stopped by ${props.viewer.principal.name}.`
      : 'The task, its log and its events are deleted for good.';
  return (
    <Layout title={`${what} task ${shortId(task.id)}`} viewer={props.viewer}>
      <p><a href={`/tasks/${task.id}`}>← Task {shortId(task.id)}</a></p>
      <h1>{`${what} task ${shortId(task.id)}?`}</h1>
      <p>
        <code>{formatCommand(task.command)}</code> in {`${task.project}/${task.stage}/${task.app}`}, {task.status}.
      </p>
      <p>{explain}</p>
      <form method="post" action={`/tasks/${task.id}/${action}`} class="confirm">
        <input type="hidden" name="csrf" value={props.viewer.csrf} />
        <button type="submit" class={action === 'delete' ? 'danger' : 'primary'}>{`${what} the task`}</button>
        <a href={`/tasks/${task.id}`}>Cancel</a>
      </form>
    </Layout>
  );
}

function logHeading(log: LogTail): string {
  return log.total > log.lines.length && log.lines.length > 0 ? `Log, last ${log.lines.length} of ${log.total} lines` : 'Log';
}
