import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../lib/base-command.js';
import { exitCodeOf, followAndPrint, printLog } from '../../lib/logs.js';
import { parseTaskArg } from '../../lib/task-arg.js';

export default class ShowLogs extends BaseCommand {
  static summary = "Print a task's log; --follow streams it until the task ends.";
  static description = 'Lines are `2021-03-17 09:58:34 [app] text` (UTC). With --follow the CLI exits with the task\'s exit code, like an attached run.';
  static examples = ['<%= config.bin %> show logs task=55a9b03b', '<%= config.bin %> show logs task=55a9b03b --follow'];
  static strict = false;
  static args = { task: Args.string({ description: 'task=ID (an id or a unique prefix).' }) };
  static flags = { follow: Flags.boolean({ char: 'f', summary: 'Keep streaming new lines until the task ends.' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ShowLogs);
    const id = parseTaskArg(argv as string[]);
    const client = await this.api();
    if (!flags.follow) return printLog(client, id);
    this.exitWith(await exitCodeOf(client, id, await followAndPrint(client, id, null)));
  }
}
