/**
 * Wire protocol version between agents and schedulers, agreed once per connection in `hello`.
 * Within a version only optional fields may be added; anything else bumps it.
 */
export const PROTOCOL_VERSION = 1;

/** Versions a scheduler of this build accepts from agents. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];
