import { Args } from '@oclif/core';
import { BaseCommand } from '../../lib/base-command.js';
import { parseScheduleArg, schedulePath } from '../../lib/schedule-arg.js';

export default class DeleteSchedule extends BaseCommand {
  static summary = 'Delete a schedule: no slot of it fires again; the tasks it created stay.';
  static examples = ['<%= config.bin %> delete schedule schedule=9c1b7e2a'];
  static strict = false;
  static args = { schedule: Args.string({ description: 'schedule=ID (an id or a unique prefix).' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(DeleteSchedule);
    const id = parseScheduleArg(argv as string[]);
    await (await this.api()).delete(schedulePath(id));
    this.log(`Deleted schedule ${id}`);
  }
}
