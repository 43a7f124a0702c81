/** @jsxImportSource hono/jsx */
import { formatLogLine, type LogLine, type Task } from '@tapit/protocol';
import { Layout, type Viewer } from './layout.js';
import { formatTimestamp, shortId, taskDetails } from './format.js';

/** The end of a task's log as read for its page. */
export interface LogTail {
  lines: LogLine[];
  /** Lines the log holds in all (positions 1 to this). */
  total: number;
  expiredAt: string | null;
}

export function TaskPage(props: { viewer: Viewer; task: Task; log: LogTail }) {
  const { task, log } = props;
  // `tapit show task`'s own rows.
  const rows = taskDetails(task);
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
