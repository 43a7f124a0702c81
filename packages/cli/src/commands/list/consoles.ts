import { Args } from '@oclif/core';
import { ConsoleSessionList } from '@tapit/protocol';
import type { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { consoleTable } from '../../lib/console-output.js';
import { parseTaskArg, taskPath } from '../../lib/task-arg.js';
import type { Completion } from '../../lib/completion.js';

export default class ListConsoles extends BaseCommand {
  static completion: Completion = { taskId: true };
  static summary = "List a task's console and exec sessions, recorded for the audit trail.";
  static description = 'Each session has a recording: tapit show recording session=ID replays it.';
  static examples = ['<%= config.bin %> list consoles task=55a9b03b'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { task: Args.string({ description: 'task=ID (an id or a unique prefix).' }) };

  async run(): Promise<z.infer<typeof ConsoleSessionList>> {
    const { argv } = await this.parse(ListConsoles);
    const list = await (await this.api()).get(taskPath(parseTaskArg(argv as string[]), '/consoles'), ConsoleSessionList);
    this.log(consoleTable(list.items));
    return list;
  }
}
