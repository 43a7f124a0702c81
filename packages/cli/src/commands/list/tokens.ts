import { TokenList } from '@tapit/protocol';
import { tokenListing } from '@tapit/protocol/format';
import type { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { listingTable } from '../../lib/output.js';

export default class ListTokens extends BaseCommand {
  static summary = 'List the API tokens (admin only); secrets are never shown again.';
  static enableJsonFlag = true;

  async run(): Promise<z.output<typeof TokenList>> {
    await this.parse(ListTokens);
    const list = await (await this.api()).get('/v1/tokens', TokenList);
    this.log(listingTable(tokenListing(list.items)));
    return list;
  }
}
