import { Args } from '@oclif/core';
import { CreatedToken, CreateTokenRequest } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseRequest, type KeyValueSpec } from '../../lib/key-values.js';
import { keyNames, type Completion } from '../../lib/completion.js';

const KEYS: KeyValueSpec = {
  positional: { field: 'name', name: 'token name', required: true },
  keys: {
    role: { field: 'role', type: 'string', required: true },
    project: { field: 'project', type: 'string' },
  },
};

export default class CreateToken extends BaseCommand {
  static completion: Completion = { keys: keyNames(KEYS) };
  static summary = 'Create an API token (admin only); its secret is shown only this once.';
  static examples = ['<%= config.bin %> create token ci role=member project=shop'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'Token name, then role=admin|member|viewer [project=P].' }) };

  async run(): Promise<CreatedToken> {
    const { argv } = await this.parse(CreateToken);
    const body = parseRequest(CreateTokenRequest, argv as string[], KEYS);
    const created = await (await this.api()).create('/v1/tokens', body, CreatedToken);
    this.log(`Created token ${created.name} (${created.role}, ${created.project === null ? 'all projects' : `project ${created.project}`}).`);
    this.log('Its secret, shown only this once:');
    this.log(created.token);
    return created;
  }
}
