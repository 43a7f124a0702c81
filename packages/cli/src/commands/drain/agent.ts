import { Args } from '@oclif/core';
import type { AgentView } from '@tapit/protocol';
import { agentSummary, setDrained } from '../../lib/agents.js';
import { BaseCommand } from '../../lib/base-command.js';

export default class DrainAgent extends BaseCommand {
  static summary = 'Drain an agent (admin only): no new tasks are placed on it; the ones it runs go on.';
  static examples = ['<%= config.bin %> drain agent host-a'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'Agent name.' }) };

  async run(): Promise<AgentView> {
    const { argv } = await this.parse(DrainAgent);
    const agent = await setDrained(await this.api(), argv as string[], true);
    this.log(agentSummary(agent));
    return agent;
  }
}
