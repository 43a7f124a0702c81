import { Args } from '@oclif/core';
import { Name } from '@tapit/protocol';
import { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { parseRequest } from '../../lib/key-values.js';

export default class RevokeJoinToken extends BaseCommand {
  static summary = 'Revoke a join token (admin only): it admits no more agents; agents it admitted keep their own credentials.';
  static examples = ['<%= config.bin %> revoke join-token rack-4'];
  static strict = false;
  static args = { name: Args.string({ description: 'Join token name.' }) };

  async run(): Promise<void> {
    const { argv } = await this.parse(RevokeJoinToken);
    const { name } = parseRequest(z.object({ name: Name }), argv as string[], { keys: {}, positional: { field: 'name', name: 'join token name', required: true } });
    await (await this.api()).delete(`/v1/join-tokens/${encodeURIComponent(name)}`);
    this.log(`Revoked join token ${name}`);
  }
}
