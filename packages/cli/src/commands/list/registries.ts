import { RegistryList } from '@tapit/protocol';
import type { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { projectPath } from '../../lib/context.js';
import { formatTimestamp, table } from '../../lib/output.js';

export default class ListRegistries extends BaseCommand {
  static summary = "List the project's private registries: host, username, who set them and when (never the password).";
  static enableJsonFlag = true;

  async run(): Promise<z.output<typeof RegistryList>> {
    const { flags } = await this.parse(ListRegistries);
    const list = await (await this.api()).get(`${projectPath(this.scope(flags))}/registries`, RegistryList);
    if (list.items.length === 0) this.log(`No registries in project ${flags.project}: images are pulled without credentials.`);
    else
      this.log(
        table(
          ['HOST', 'USERNAME', 'PASSWORD', 'SET BY', 'SET AT'],
          list.items.map((registry) => [registry.host, registry.username, '••••', registry.updatedBy ?? '-', formatTimestamp(registry.updatedAt)]),
        ),
      );
    return list;
  }
}
