import { Args, Flags } from '@oclif/core';
import { linesOfChunk, type LogLine } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { exitCodeOf, followAndPrint, printLog, processIo, readLog } from '../../lib/logs.js';
import { parseTaskArg } from '../../lib/task-arg.js';

export default class ShowLogs extends BaseCommand {
  static summary = "Print a task's log; --follow streams it until the task ends.";
  static description =
    'Lines are `2021-03-17 09:58:34 [app] text` (UTC). With --follow the CLI exits with the task\'s exit code, like an attached run. On a terminal, control characters in the output (escape sequences, carriage returns) are shown as \\uXXXX so a task cannot rewrite your screen or clipboard; --raw prints them as they are, as does output to a pipe or file.';
  static examples = ['<%= config.bin %> show logs task=55a9b03b', '<%= config.bin %> show logs task=55a9b03b --follow'];
  static strict = false;
  static args = { task: Args.string({ description: 'task=ID (an id or a unique prefix).' }) };
  static enableJsonFlag = true;
  static flags = {
    follow: Flags.boolean({ char: 'f', summary: 'Keep streaming new lines until the task ends.', exclusive: ['json'] }),
    raw: Flags.boolean({ summary: 'Print control characters of the output as they are, even on a terminal.' }),
  };

  async run(): Promise<{ lines: LogLine[] } | undefined> {
    const { argv, flags } = await this.parse(ShowLogs);
    const id = parseTaskArg(argv as string[]);
    const client = await this.api();
    if (this.jsonEnabled()) {
      const lines: LogLine[] = [];
      await readLog(client, id, (chunks) => {
        for (const chunk of chunks) lines.push(...linesOfChunk(chunk));
      });
      return { lines };
    }
    const io = { ...processIo(), raw: flags.raw };
    if (flags.follow) this.exitWith(await exitCodeOf(client, id, await followAndPrint(client, id, null, undefined, io), io));
    else await printLog(client, id, io);
    return undefined;
  }
}
