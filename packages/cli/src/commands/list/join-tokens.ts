import { JoinTokenList, type JoinTokenView } from '@tapit/protocol';
import type { z } from 'zod';
import { BaseCommand } from '../../lib/base-command.js';
import { formatTimestamp, table } from '../../lib/output.js';

/** Whether it still admits agents, and if not, why. */
function state(token: JoinTokenView, now: number): string {
  if (token.revokedAt !== null) return 'revoked';
  if (Date.parse(token.expiresAt) <= now) return 'expired';
  if (token.uses !== null && token.used >= token.uses) return 'used up';
  return 'active';
}

export default class ListJoinTokens extends BaseCommand {
  static summary = 'List the join tokens (admin only); secrets are never shown again.';
  static description = 'TAPIT_AGENT_JOIN_TOKEN, set on the scheduler, is a join token too (no use limit, no expiry) and is not listed.';
  static enableJsonFlag = true;

  async run(): Promise<z.output<typeof JoinTokenList>> {
    await this.parse(ListJoinTokens);
    const list = await (await this.api()).get('/v1/join-tokens', JoinTokenList);
    const now = Date.now();
    if (list.items.length === 0) this.log('No join tokens yet: tapit create join-token [uses=N] [expires=24h]');
    else
      this.log(
        table(
          ['NAME', 'STATE', 'USED', 'EXPIRES', 'CREATED BY', 'CREATED'],
          list.items.map((t) => [
            t.name,
            state(t, now),
            t.uses === null ? `${t.used}` : `${t.used}/${t.uses}`,
            formatTimestamp(t.expiresAt),
            t.createdBy ?? '-',
            formatTimestamp(t.createdAt),
          ]),
        ),
      );
    return list;
  }
}
