import fc from 'fast-check';
import { z } from 'zod';
import { hostileBodyText, toJsonText } from './hostile-values.js';
import { mutatedValue, validValue, type JsonSchema } from './json-schema-arbitrary.js';

/*
 * Websocket messages generated from a protocol schema (a discriminated union of frames): frames
 * it accepts, the same broken, text that is not JSON, binary messages, and messages past a size
 * bound. Task ids in frames are placeholders that the test points at tasks it knows (its own,
 * another agent's, none) when it sends them.
 */

export type FrameAction =
  | { kind: 'frame'; type: string; value: Record<string, unknown> }
  | { kind: 'mutated'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'binary'; bytes: Buffer }
  | { kind: 'huge'; bytes: number };

/** The JSON Schema of each variant of a discriminated union, by its `type`. */
export function variantsOf(schema: z.ZodType): Map<string, JsonSchema> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { oneOf?: JsonSchema[]; anyOf?: JsonSchema[] };
  const variants = new Map<string, JsonSchema>();
  for (const variant of json.oneOf ?? json.anyOf ?? []) {
    const type = typeof variant === 'object' ? ((variant.properties as Record<string, { const?: string }> | undefined)?.type?.const ?? undefined) : undefined;
    if (type) variants.set(type, variant);
  }
  return variants;
}

export interface FrameOptions {
  dictionary?: readonly string[];
  /** Relative weights of the kinds of message (default: mostly valid frames). */
  weights?: Partial<Record<FrameAction['kind'], number>>;
  /** The largest message of kind `huge` (the bound under test, plus a little). */
  hugeBytes?: number;
  /** Only these frame types as valid frames (e.g. not `hello` after the handshake). */
  types?: readonly string[];
}

/** Messages for a channel whose frames `schema` describes. */
export function frameActions(schema: z.ZodType, options: FrameOptions = {}): fc.Arbitrary<FrameAction> {
  const variants = [...variantsOf(schema)].filter(([type]) => !options.types || options.types.includes(type));
  const weights = { frame: 6, mutated: 4, text: 1, binary: 1, huge: 0, ...options.weights };
  const valid = fc.oneof(...variants.map(([type, s]) => validValue(s, options).map((value): FrameAction => ({ kind: 'frame', type, value: value as Record<string, unknown> }))));
  const mutated = fc.oneof(...variants.map(([, s]) => mutatedValue(s, options).map((value): FrameAction => ({ kind: 'mutated', value }))));
  const hugeBytes = options.hugeBytes ?? 1024 * 1024;
  return fc.oneof(
    { arbitrary: valid, weight: weights.frame },
    { arbitrary: mutated, weight: weights.mutated },
    { arbitrary: hostileBodyText().map((text): FrameAction => ({ kind: 'text', text })), weight: weights.text },
    { arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): FrameAction => ({ kind: 'binary', bytes: Buffer.from(bytes) })), weight: weights.binary },
    { arbitrary: fc.constantFrom(hugeBytes - 1024, hugeBytes + 1).map((bytes): FrameAction => ({ kind: 'huge', bytes })), weight: weights.huge },
  );
}

/** Points every `taskId` (and `taskId`s in lists) of a frame at `id()`; other fields stay. */
export function retarget(value: unknown, id: () => string): unknown {
  if (Array.isArray(value)) return value.map((v) => retarget(v, id));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'taskId' && typeof v === 'string' ? id() : retarget(v, id)]));
}

/** The message an action sends: its data and whether it goes as a binary message. */
export function encodeAction(action: FrameAction, value?: unknown): { data: string | Buffer; binary: boolean } {
  switch (action.kind) {
    case 'frame':
    case 'mutated':
      return { data: toJsonText(value ?? action.value), binary: false };
    case 'text':
      return { data: action.text, binary: false };
    case 'binary':
      return { data: action.bytes, binary: true };
    case 'huge':
      // A JSON string that is one frame long: valid JSON, of no frame type.
      return { data: `"${'x'.repeat(Math.max(0, action.bytes - 2))}"`, binary: false };
  }
}
