import { Args } from '@oclif/core';
import { CreatedJoinToken, CreateJoinTokenRequest } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseDurationSeconds } from '../../lib/durations.js';
import { parseKeyValues, validateKeyValues, type KeyValueSpec } from '../../lib/key-values.js';
import { formatTimestamp } from '../../lib/output.js';
import { keyNames, type Completion } from '../../lib/completion.js';

const KEYS: KeyValueSpec = {
  positional: { field: 'name', name: 'join token name', required: false },
  keys: {
    uses: { field: 'uses', type: 'number', nullable: true },
    expires: { field: 'expiresInSeconds', type: 'string' },
  },
};

export default class CreateJoinToken extends BaseCommand {
  static completion: Completion = { keys: keyNames(KEYS) };
  static summary = 'Create a join token, which admits new agents (admin only); its secret is shown only this once.';
  static description =
    'An agent presents it once, as TAPIT_AGENT_TOKEN, to register its own credential (kept in its state folder); it connects with that credential from then on. uses=N admits N agents at most (default: no limit); expires=DURATION (30m, 24h, 7d; default 24h, at most 365d).';
  static examples = ['<%= config.bin %> create join-token rack-4 uses=3 expires=2h', '<%= config.bin %> create join-token'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'Join token name (default: join- and a few characters), then [uses=N] [expires=24h].' }) };

  async run(): Promise<CreatedJoinToken> {
    const { argv } = await this.parse(CreateJoinToken);
    const { body, typed } = parseKeyValues(argv as string[], KEYS);
    if (typeof body.expiresInSeconds === 'string') body.expiresInSeconds = parseDurationSeconds(body.expiresInSeconds, 'expires');
    const request = validateKeyValues(CreateJoinTokenRequest, body, KEYS, typed);
    const created = await (await this.api()).create('/v1/join-tokens', request, CreatedJoinToken);
    const admits = created.uses === null ? 'any number of agents' : `${created.uses} agent${created.uses === 1 ? '' : 's'}`;
    this.log(`Created join token ${created.name}: admits ${admits} until ${formatTimestamp(created.expiresAt)} UTC.`);
    this.log('Its secret, shown only this once (give it to new agents as TAPIT_AGENT_TOKEN):');
    this.log(created.token);
    return created;
  }
}
