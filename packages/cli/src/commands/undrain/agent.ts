import { Args } from '@oclif/core';
import type { AgentView } from '@tapit/protocol';
import { agentSummary, setDrained } from '../../lib/agents.js';
import { BaseCommand } from '../../lib/base-command.js';

export default class UndrainAgent extends BaseCommand {
  static summary = 'Undrain an agent (admin only): new tasks may be placed on it again.';
  static examples = ['<%= config.bin %> undrain agent host-a'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'Agent name.' }) };

  async run(): Promise<AgentView> {
    const { argv } = await this.parse(UndrainAgent);
    const agent = await setDrained(await this.api(), argv as string[], false);
    this.log(agentSummary(agent));
    return agent;
  }
}
