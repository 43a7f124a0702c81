import { AgentList } from '@tapit/protocol';
import { agentListing } from '@tapit/protocol/format';
import type { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { listingTable } from '../../lib/output.js';

export default class ListAgents extends BaseCommand {
  static summary = 'List the agents: status (and why one takes no work), version, use and capacity, running tasks, labels, last seen.';
  static description =
    'CPU in vCPUs and memory in GB, as used/capacity; * marks a capacity an admin set (tapit update agent). A token limited to one project sees only the agents running its tasks, without readiness, capacity or counts.';
  static enableJsonFlag = true;

  async run(): Promise<z.output<typeof AgentList>> {
    await this.parse(ListAgents);
    const list = await (await this.api()).get('/v1/agents', AgentList);
    if (list.items.length === 0) this.log('No agents to show.');
    else this.log(listingTable(agentListing(list.items)));
    return list;
  }
}
