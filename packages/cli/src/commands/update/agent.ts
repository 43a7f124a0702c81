import { Args } from '@oclif/core';
import { AgentView, Name, UpdateAgentRequest } from '@tapit/protocol';
import { agentPath, agentSummary } from '../../lib/agents.js';
import { BaseCommand } from '../../lib/base-command.js';
import { parseNamedRequest, type KeyValueSpec } from '../../lib/key-values.js';
import { keyNames, type Completion } from '../../lib/completion.js';

const KEYS = {
  positional: { field: 'name', name: 'agent name', required: true },
  keys: {
    cpu: { field: 'cpu', type: 'number', nullable: true, nullWord: 'auto' },
    memory: { field: 'memoryGb', type: 'number', nullable: true, nullWord: 'auto' },
  },
} satisfies KeyValueSpec;

export default class UpdateAgent extends BaseCommand {
  static completion: Completion = { keys: keyNames(KEYS) };
  static summary = "Set the capacity placement may use on an agent (admin only), in place of what it offers.";
  static description = 'cpu in vCPUs, memory in GB; auto goes back to what the agent offers. Tasks already on it go on.';
  static examples = ['<%= config.bin %> update agent host-a cpu=6 memory=24', '<%= config.bin %> update agent host-a cpu=auto memory=auto'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'Agent name, then cpu=VCPUS|auto memory=GB|auto.' }) };

  async run(): Promise<AgentView> {
    const { argv } = await this.parse(UpdateAgent);
    const { name, request } = parseNamedRequest(Name, UpdateAgentRequest, argv as string[], KEYS);
    const agent = await (await this.api()).patch(agentPath(name), request, AgentView);
    this.log(agentSummary(agent));
    return agent;
  }
}
