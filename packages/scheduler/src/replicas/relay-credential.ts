import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { bearerOf } from '../agents/agent-auth.js';
import type { SecretBox } from '../secrets/secret-box.js';

/**
 * What one replica shows another to have a console, exec or copy relayed to an agent the other
 * holds: a value derived from the secret key, which every replica on one database already shares
 * (and nothing else has: no user or agent token opens the relay routes). One made from a
 * previous key (TAPIT_SECRET_KEY_PREVIOUS) is accepted too, so a key rotation rolled out one
 * replica at a time never cuts a relay.
 */
export class RelayCredential {
  private readonly accepted: Buffer[];
  /** The bearer this replica presents. */
  readonly bearer: string;

  constructor(secrets: SecretBox) {
    const derived = secrets.derive('replica relay v1');
    this.bearer = derived[0];
    this.accepted = derived.map((value) => Buffer.from(value));
  }

  /** Whether `request` carries a relay credential of these keys. */
  accepts(request: IncomingMessage): boolean {
    const presented = Buffer.from(bearerOf(request) ?? '');
    return this.accepted.some((value) => value.length === presented.length && timingSafeEqual(value, presented));
  }
}
