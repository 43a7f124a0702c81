import { Args } from '@oclif/core';
import { Task } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { bothTerminals, connectConsole } from '../../lib/console-connect.js';
import { DETACH_KEYS_LABEL } from '../../lib/detach-keys.js';
import { UsageError } from '../../lib/errors.js';
import { parseTaskArg, taskPath } from '../../lib/task-arg.js';
import type { Completion } from '../../lib/completion.js';

export default class TaskAttach extends BaseCommand {
  static completion: Completion = { taskId: true };
  static summary = "Reattach to an interactive task's console, or run a command inside a running task.";
  static description =
    `Without a command: reconnects to the console of an interactive task (tapit run, task:run --interactive); the recent screen is replayed first. ${DETACH_KEYS_LABEL} detaches again. With -- COMMAND ARGS…: runs the command inside any RUNNING task, with a TTY when stdin and stdout are both terminals, else with plain pipes (stdin forwarded to its end, stdout and stderr kept apart), so it works in scripts. Exits with the remote program's exit code.`;
  static examples = [
    '<%= config.bin %> task:attach 55a9b03b',
    '<%= config.bin %> task:attach 55a9b03b -- bash',
    'echo hi | <%= config.bin %> task:attach 55a9b03b -- cat',
    '<%= config.bin %> task:attach 55a9b03b -- ls -la /tmp > listing.txt',
  ];
  static strict = false;
  static args = { id: Args.string({ description: 'Task id or a unique prefix of it.' }) };

  async run(): Promise<void> {
    // The command after -- is taken from the raw argv, as given (oclif would re-sort repeated words).
    const dashes = this.argv.indexOf('--');
    const command = dashes === -1 ? [] : this.argv.slice(dashes + 1);
    const { argv } = await this.parse(TaskAttach, dashes === -1 ? this.argv : this.argv.slice(0, dashes));
    const exec = dashes !== -1;
    if (exec && command.length === 0) throw new UsageError('Missing command after --: e.g. task:attach ID -- ls -la');
    const client = await this.api();
    // The full id, for the messages (the user may have typed a prefix).
    const task = await client.get(taskPath(parseTaskArg(argv as string[])), Task);
    const code = await connectConsole(client, exec ? { taskId: task.id, mode: 'exec', command, tty: bothTerminals() } : { taskId: task.id, mode: 'attach', tty: true });
    this.exit(code);
  }
}
