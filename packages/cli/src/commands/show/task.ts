import { Args } from '@oclif/core';
import { LogPage, Task } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseTaskArg, taskPath } from '../../lib/task-arg.js';
import { logTail, taskDetails } from '../../lib/task-output.js';
import { logExpiry } from '../../lib/logs.js';
import type { Completion } from '../../lib/completion.js';

/** Lines of the log's end shown. */
const LOG_TAIL = 20;

export default class ShowTask extends BaseCommand {
  static completion: Completion = { taskId: true };
  static summary = 'Show a task: status, stop reason, exit code, timings, resources, usage and the end of its log.';
  static examples = ['<%= config.bin %> show task task=55a9b03b'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { task: Args.string({ description: 'task=ID (an id or a unique prefix).' }) };

  async run(): Promise<Task> {
    const { argv } = await this.parse(ShowTask);
    const client = await this.api();
    const task = await client.get(taskPath(parseTaskArg(argv as string[])), Task);
    this.log(taskDetails(task));
    if (!this.jsonEnabled()) {
      const page = await client.get(taskPath(task.id, '/logs'), LogPage, { tail: LOG_TAIL });
      this.log(`\n${page.expiredAt ? `Log: expired, ${logExpiry(page.expiredAt)}` : logTail(page.lines, `${this.config.bin} show logs task=${task.id}`)}`);
    }
    return task;
  }
}
