import { Args } from '@oclif/core';
import { Name } from '@tapit/protocol';
import { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { parseRequest } from '../../lib/key-values.js';

export default class RevokeToken extends BaseCommand {
  static summary = 'Revoke an API token (admin only); it stops working at once.';
  static examples = ['<%= config.bin %> revoke token ci'];
  static strict = false;
  static args = { name: Args.string({ description: 'Token name.' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(RevokeToken);
    const { name } = parseRequest(z.object({ name: Name }), argv as string[], { keys: {}, positional: { field: 'name', name: 'token name', required: true } });
    await (await this.api()).delete(`/v1/tokens/${encodeURIComponent(name)}`);
    this.log(`Revoked token ${name}`);
  }
}
