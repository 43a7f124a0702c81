import { AgentList } from '@tapit/protocol';
import type { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { formatNumber, formatTimestamp, table } from '../../lib/output.js';

export default class ListAgents extends BaseCommand {
  static summary = 'List the agents, whether they take work (and why not), their capacity and what is allocated on them.';
  static enableJsonFlag = true;

  async run(): Promise<z.output<typeof AgentList>> {
    await this.parse(ListAgents);
    const list = await (await this.api()).get('/v1/agents', AgentList);
    if (list.items.length === 0) this.log('No agents have registered yet.');
    else
      this.log(
        table(
          ['NAME', 'STATUS', 'CPU USED/TOTAL', 'MEMORY GB USED/TOTAL', 'TASKS', 'VERSION', 'LAST SEEN', 'NOT READY BECAUSE'],
          list.items.map((a) => [
            a.name,
            // Online but taking no work (its engine is away…): say so, and why in the last column.
            a.status === 'online' && !a.ready ? 'not ready' : a.status,
            `${formatNumber(a.allocated.cpu)}/${formatNumber(a.capacity.cpu)}`,
            `${formatNumber(a.allocated.memoryGb)}/${formatNumber(a.capacity.memoryGb)}`,
            String(a.runningTasks),
            a.version ?? '-',
            formatTimestamp(a.lastSeenAt),
            a.notReadyReason ?? '-',
          ]),
        ),
      );
    return list;
  }
}
