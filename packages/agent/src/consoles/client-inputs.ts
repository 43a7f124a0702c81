/** How many clients a console remembers (the most recent ones): a few bytes each. */
const KEPT_CLIENTS = 64;

/**
 * What a console took from each client that attached to it, in keyboard bytes, by the client's
 * id (one `tapit run` across its reconnects). A client whose link broke with keys in flight
 * learns, once attached again, where the console's input from it ends, and sends the rest again:
 * no key lost, none typed twice. Kept in memory only: after an agent restart the console knows no
 * client, says nothing, and the client sends nothing again.
 */
export class ClientInputs {
  private readonly received = new Map<string, number>();

  /**
   * A session of `client` attached: the bytes the console took from it before, when an earlier
   * session of the same client attached here (undefined the first time: there is nothing to resend).
   */
  attached(client: string): number | undefined {
    const before = this.received.get(client);
    // Re-inserted: the most recently attached clients are the last to be forgotten.
    this.received.delete(client);
    this.received.set(client, before ?? 0);
    if (this.received.size > KEPT_CLIENTS) this.received.delete(this.received.keys().next().value!);
    return before;
  }

  /** `bytes` of `client`'s input reached the program. */
  took(client: string, bytes: number): void {
    const before = this.received.get(client);
    if (before !== undefined) this.received.set(client, before + bytes);
  }
}
