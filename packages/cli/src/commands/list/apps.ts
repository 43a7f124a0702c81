import { AppList } from '@tapit/protocol';
import type { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { stagePath } from '../../lib/context.js';
import { formatNumber, formatTimestamp, table } from '../../lib/output.js';

export default class ListApps extends BaseCommand {
  static summary = 'List the apps of a stage.';
  static enableJsonFlag = true;

  async run(): Promise<z.output<typeof AppList>> {
    const { flags } = await this.parse(ListApps);
    const list = await (await this.api()).get(`${stagePath(this.scope(flags))}/apps`, AppList);
    if (list.items.length === 0) this.log(`No apps in ${flags.project}/${flags.stage}.`);
    else
      this.log(
        table(
          ['NAME', 'IMAGE', 'RELEASE', 'CPU', 'MEMORY GB', 'MAX HOURS', 'READ ONLY', 'CREATED'],
          list.items.map((app) => [
            app.name,
            app.image,
            app.activeRelease === null ? '-' : String(app.activeRelease),
            formatNumber(app.defaults.cpu),
            formatNumber(app.defaults.memoryGb),
            app.defaults.maxHours === null ? 'none' : formatNumber(app.defaults.maxHours),
            app.readOnly ? 'yes' : 'no',
            formatTimestamp(app.createdAt),
          ]),
        ),
      );
    return list;
  }
}
