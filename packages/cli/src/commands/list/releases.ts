import { ReleaseList } from '@tapit/protocol';
import type { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { formatTimestamp, table } from '../../lib/output.js';

export default class ListReleases extends BaseCommand {
  static summary = 'List the releases of an app, newest first.';
  static enableJsonFlag = true;

  async run(): Promise<z.output<typeof ReleaseList>> {
    const { flags } = await this.parse(ListReleases);
    const list = await (await this.api()).get(`${appPath(this.appScope(flags))}/releases`, ReleaseList);
    this.log(
      table(
        ['RELEASE', 'IMAGE', 'ACTIVE', 'CREATED'],
        list.items.map((r) => [String(r.number), r.image, r.active ? 'yes' : '', formatTimestamp(r.createdAt)]),
      ),
    );
    return list;
  }
}
