/** @jsxImportSource hono/jsx */
import { formatLogLine, type LogLine, type Task } from '@tapit/protocol';
import { Layout, type Viewer } from './layout.js';
import { formatBytes, formatCommand, formatDuration, formatNumber, formatTimestamp, shellJoin, shortId, taskDurationMs } from './format.js';

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

export function TaskPage(props: { viewer: Viewer; task: Task; log: LogTail; consoles: ConsoleSessionRow[] }) {
  const { task, log } = props;
  const { resources, usage } = task;
  const stop = task.stopCode === null ? '-' : `${task.stopCode}${task.stopReason ? `: ${task.stopReason}` : ''}`;
  const rows: [string, string][] = [
    ['ID', task.id],
    ['App', `${task.project}/${task.stage}/${task.app}${task.release === null ? '' : ` release ${task.release}`}`],
    ['Status', task.status],
    ['Desired status', task.desiredStatus],
    ['Stop code', stop],
    ['Stopped by', task.stoppedBy ?? '-'],
    ['Exit code', task.exitCode === null ? '-' : String(task.exitCode)],
    ['Kind', task.kind],
    ['Command', formatCommand(task.command)],
    ['Entrypoint', task.entrypoint === null ? '(image default)' : shellJoin(task.entrypoint)],
    ['Image', task.image],
    ['Image digest', task.imageDigest ?? '-'],
    ['Agent', task.agent ?? '-'],
    ['Created', `${formatTimestamp(task.createdAt)} by ${task.createdBy}${task.initiatedBy ? ` (initiated by ${task.initiatedBy})` : ''}`],
    ...(task.scheduleId ? [['Schedule', `${task.scheduleId}${task.scheduledFor ? ` (slot ${formatTimestamp(task.scheduledFor)})` : ''}`] as [string, string]] : []),
    ['Started', formatTimestamp(task.startedAt)],
    ['Finished', formatTimestamp(task.finishedAt)],
    ['Duration', formatDuration(taskDurationMs(task))],
    ['CPU', `${formatNumber(resources.cpu)} vCPU`],
    ['Memory', `${formatNumber(resources.memoryGb)} GB`],
    ['Max hours', resources.maxHours === null ? 'no limit' : formatNumber(resources.maxHours)],
    ['Ephemeral storage', resources.ephemeralStorageGb === null ? 'default' : `${formatNumber(resources.ephemeralStorageGb)} GB`],
    ['Peak memory', formatBytes(usage.peakMemoryBytes)],
    ['CPU time', usage.cpuSeconds === null ? '-' : `${formatNumber(usage.cpuSeconds)}s`],
    ['Disk', formatBytes(usage.diskBytes)],
    ['Log size', task.log ? `${task.log.lines} ${task.log.lines === 1 ? 'line' : 'lines'}, ${formatBytes(task.log.bytes)}${task.log.droppedBytes > 0 ? ` (${formatBytes(task.log.droppedBytes)} dropped by the log limit)` : ''}` : '-'],
    ...(task.envKeys && task.envKeys.length > 0 ? [['Env (own)', `${task.envKeys.join(', ')} (values hidden)`] as [string, string]] : []),
  ];
  return (
    <Layout title={`Task ${shortId(task.id)}`} viewer={props.viewer}>
      <p><a href="/tasks">← Tasks</a></p>
      <h1>Task {shortId(task.id)}</h1>
      <dl class="details">
        {rows.map(([key, value]) => (
          <>
            <dt>{key}</dt>
            <dd>{value}</dd>
          </>
        ))}
      </dl>
      {task.status === 'RUNNING' && (
        <div class="actions">
          {task.kind === 'interactive' && <a class="button primary" href={`/tasks/${task.id}/console`}>Open the console</a>}
          <form class="exec" method="get" action={`/tasks/${task.id}/exec`} aria-label="Run a command in the task">
            <label for="exec-command">
              command
              <input id="exec-command" name="command" value="sh" required />
            </label>
            <button type="submit">Run in the task</button>
          </form>
        </div>
      )}
      {props.consoles.length > 0 && (
        <>
          <h2 id="consoles">Consoles</h2>
          <div class="table-wrap">
            <table class="consoles">
              <thead>
                <tr><th>Session</th><th>Mode</th><th>Command</th><th>Opened by</th><th>Opened</th><th>Closed</th><th>Exit</th><th>Recording</th></tr>
              </thead>
              <tbody>
                {props.consoles.map((s) => (
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
      )}
      <h2 id="log">{logHeading(log)}</h2>
      {log.expiredAt !== null ? (
        <p class="muted">The log expired at {formatTimestamp(log.expiredAt)} (its app's log retention).</p>
      ) : log.lines.length === 0 ? (
        <p class="muted">(empty)</p>
      ) : (
        <pre class="log" aria-labelledby="log">{log.lines.map((line) => `${formatLogLine(line)}\n`).join('')}</pre>
      )}
      <p class="muted">All of it: <code>{`tapit show logs task=${shortId(task.id)}`}</code></p>
    </Layout>
  );
}

function logHeading(log: LogTail): string {
  return log.total > log.lines.length && log.lines.length > 0 ? `Log, last ${log.lines.length} of ${log.total} lines` : 'Log';
}
