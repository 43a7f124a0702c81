import { Args, Flags } from '@oclif/core';
import { linesOfChunk, LogStream, MAX_LOG_CHUNK_TAIL, type LogLine } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { exitCodeOf, followAndPrint, printLog, processIo, readLog, type LogSelection } from '../../lib/logs.js';
import { parseSince } from '../../lib/log-since.js';
import { parseTaskArg } from '../../lib/task-arg.js';
import type { Completion } from '../../lib/completion.js';

export default class ShowLogs extends BaseCommand {
  static completion: Completion = { taskId: true };
  static summary = "Print a task's log; --follow streams it until the task ends.";
  static description =
    "Lines are `2021-03-17 09:58:34 [app] text` (UTC). With --follow the CLI exits with the task's exit code, like an attached run. --tail, --since and --stream choose the lines (with --follow, those before it goes on). On a terminal, control characters in the output (escape sequences, carriage returns) are shown as \\uXXXX so a task cannot rewrite your screen or clipboard; --raw prints the task's output alone (no times, no [app] or [system] lines) with its bytes as they are, so `> file` holds exactly what it printed. Output to a pipe or file keeps control characters too. A log that log retention deleted (TAPIT_LOG_RETENTION_DAYS, an app's log_retention_days) prints one line saying so on stderr, and exits 0 (with --follow: the task's exit code); --json gives expiredAt.";
  static examples = [
    '<%= config.bin %> show logs task=55a9b03b',
    '<%= config.bin %> show logs task=55a9b03b --follow --tail 100',
    '<%= config.bin %> show logs task=55a9b03b --since 10m --stream stderr',
    '<%= config.bin %> show logs task=55a9b03b --raw > output.txt',
  ];
  static strict = false;
  static args = { task: Args.string({ description: 'task=ID (an id or a unique prefix).' }) };
  static enableJsonFlag = true;
  static flags = {
    follow: Flags.boolean({ char: 'f', summary: 'Keep streaming new lines until the task ends.', exclusive: ['json'] }),
    tail: Flags.integer({ char: 'n', min: 1, max: MAX_LOG_CHUNK_TAIL, summary: 'Only the last N lines (then, with --follow, the new ones).' }),
    since: Flags.string({ summary: 'Only lines since a time: a duration ago (30s, 10m, 2h, 1d) or a timestamp (2026-11-30T17:00:00Z).' }),
    stream: Flags.string({ options: [...LogStream.options], summary: "Only the lines of one stream: the task's stdout or stderr, or tapit's system lines." }),
    timestamps: Flags.boolean({ default: true, allowNo: true, summary: 'Show the time before each line (--no-timestamps: `[app] text`).' }),
    raw: Flags.boolean({ summary: "The task's output alone, byte for byte: no times, no [app] prefixes, no [system] lines." }),
  };

  async run(): Promise<{ lines: LogLine[]; expiredAt?: string } | undefined> {
    const { argv, flags } = await this.parse(ShowLogs);
    const id = parseTaskArg(argv as string[]);
    const selection: LogSelection = {
      tail: flags.tail,
      stream: flags.stream as LogStream | undefined,
      since: flags.since === undefined ? undefined : parseSince(flags.since, '--since'),
    };
    const client = await this.api();
    if (this.jsonEnabled()) {
      const lines: LogLine[] = [];
      const { expiredAt } = await readLog(
        client,
        id,
        (chunks) => {
          for (const chunk of chunks) lines.push(...linesOfChunk(chunk));
        },
        selection,
      );
      return expiredAt ? { lines, expiredAt } : { lines };
    }
    const io = { ...processIo(), raw: flags.raw, format: { timestamps: flags.timestamps, plain: flags.raw } };
    if (!flags.follow) {
      await printLog(client, id, io, selection);
      return undefined;
    }
    const { tail, ...filter } = selection;
    // A tail is printed first; the follow goes on after the position that read reached.
    const after = tail === undefined ? 0 : await printLog(client, id, io, selection);
    this.exitWith(await exitCodeOf(client, id, await followAndPrint(client, id, null, undefined, io, undefined, { after, filter }), io));
    return undefined;
  }
}
