import { Args } from '@oclif/core';
import { agentPath, parseAgentName } from '../../lib/agents.js';
import { BaseCommand } from '../../lib/base-command.js';

export default class DeleteAgent extends BaseCommand {
  static summary = 'Delete an agent that is not connected (admin only), freeing its name for a new agent.';
  static description = 'Tasks still placed on it end as AGENT_LOST. To remove a connected agent, revoke it first.';
  static examples = ['<%= config.bin %> delete agent host-a'];
  static strict = false;
  static args = { name: Args.string({ description: 'Agent name.' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(DeleteAgent);
    const name = parseAgentName(argv as string[]);
    await (await this.api()).delete(agentPath(name));
    this.log(`Deleted agent ${name}`);
  }
}
