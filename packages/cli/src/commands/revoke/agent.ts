import { Args } from '@oclif/core';
import { agentPath, parseAgentName } from '../../lib/agents.js';
import { BaseCommand } from '../../lib/base-command.js';

export default class RevokeAgent extends BaseCommand {
  static summary = "Revoke an agent's credential (admin only): it is disconnected at once and cannot connect again.";
  static description =
    'Its tasks end as AGENT_LOST (its containers are left on its host). Its name stays taken until the agent is deleted (tapit delete agent NAME).';
  static examples = ['<%= config.bin %> revoke agent host-a'];
  static strict = false;
  static args = { name: Args.string({ description: 'Agent name.' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(RevokeAgent);
    const name = parseAgentName(argv as string[]);
    await (await this.api()).postNoContent(`${agentPath(name)}/revoke`);
    this.log(`Revoked agent ${name}: it is disconnected and cannot connect again (tapit delete agent ${name} frees its name)`);
  }
}
