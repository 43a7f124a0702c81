import { formatLogLine, type LogLine, type Task } from '@tapit/protocol';
import { taskDetails as taskDetailPairs, taskListing } from '@tapit/protocol/format';
import { details, listingTable } from './output.js';

export { formatCommand, formatResources, formatStatus, shortId, taskDurationMs } from '@tapit/protocol/format';

export function taskTable(tasks: readonly Task[], now: Date = new Date()): string {
  if (tasks.length === 0) return 'No tasks.';
  return listingTable(taskListing(tasks, now));
}

/** Everything `show task` prints, one `Key: value` per line. */
export function taskDetails(task: Task, now: Date = new Date()): string {
  return details(taskDetailPairs(task, now));
}

/**
 * The end of a task's log for `show task`: its last lines (read with `tail`), and where to read
 * the rest when there is more. Positions count the log's lines, so the last one is their number.
 */
export function logTail(lines: readonly LogLine[], fullCommand: string): string {
  if (lines.length === 0) return 'Log: (empty)';
  const total = lines[lines.length - 1]!.position;
  const heading = total > lines.length ? `Log, last ${lines.length} of ${total} lines (all: ${fullCommand}):` : 'Log:';
  return [heading, ...lines.map((line) => `  ${formatLogLine(line)}`)].join('\n');
}
