import type { ConsoleSession } from '@tapit/protocol';
import { formatTimestamp, shellJoin, table, truncate } from './output.js';

/** `tapit list consoles`: one row per session, newest as the API orders them. */
export function consoleTable(sessions: readonly ConsoleSession[]): string {
  if (sessions.length === 0) return 'No console or exec sessions.';
  return table(
    ['SESSION', 'MODE', 'COMMAND', 'OPENED BY', 'OPENED AT', 'CLOSED AT', 'EXIT', 'END'],
    sessions.map((s) => [
      s.id,
      s.mode === 'exec' ? (s.tty ? 'exec' : 'exec (pipes)') : 'attach',
      s.command === null ? '-' : truncate(shellJoin(s.command), 40),
      s.openedBy,
      formatTimestamp(s.openedAt),
      s.closedAt === null ? 'open' : formatTimestamp(s.closedAt),
      s.exitCode === null ? '-' : String(s.exitCode),
      s.endReason ?? '-',
    ]),
  );
}
