import fc from 'fast-check';
import { hostileValue, RawJson } from './hostile-values.js';

/*
 * fast-check arbitraries from JSON Schema (draft 2020-12, as zod's toJSONSchema writes it and the
 * scheduler's OpenAPI document serves it): values the schema accepts, and the same values broken
 * in one to three places. One generator for HTTP bodies (from the OpenAPI document) and for
 * websocket frames (from the protocol's zod schemas, through z.toJSONSchema).
 */

export type JsonSchema = { [keyword: string]: unknown } | boolean;

export interface SchemaArbitraryOptions {
  /**
   * Words to try as strings besides random ones (a fuzzing dictionary): names and ids that exist
   * on the server under test, enum values seen elsewhere in the document.
   */
  dictionary?: readonly string[];
}

/** Generated strings and arrays stay short unless the schema needs more: runs stay fast. */
const MAX_GENERATED_LENGTH = 24;
const MAX_GENERATED_ITEMS = 6;

const asSchemas = (value: unknown): JsonSchema[] => (Array.isArray(value) ? (value as JsonSchema[]) : []);
const numberOr = (value: unknown, fallback: number): number => (typeof value === 'number' ? value : fallback);

/** Values that `schema` accepts. */
export function validValue(schema: JsonSchema, options: SchemaArbitraryOptions = {}): fc.Arbitrary<unknown> {
  if (schema === true) return anyJson();
  if (schema === false) return fc.constant(null);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const alternatives = [...asSchemas(schema.anyOf), ...asSchemas(schema.oneOf)];
  if (alternatives.length > 0) return fc.oneof(...alternatives.map((s) => validValue(s, options)));
  if (asSchemas(schema.allOf).length > 0) return validValue(mergeAll(asSchemas(schema.allOf)), options);
  if (Array.isArray(schema.type)) return fc.oneof(...(schema.type as string[]).map((type) => validValue({ ...schema, type }, options)));
  switch (schema.type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return integerIn(schema);
    case 'number':
      return numberIn(schema);
    case 'string':
      return stringIn(schema, options);
    case 'array': {
      const minLength = numberOr(schema.minItems, 0);
      const maxLength = Math.max(minLength, Math.min(numberOr(schema.maxItems, MAX_GENERATED_ITEMS), MAX_GENERATED_ITEMS));
      return fc.array(validValue((schema.items as JsonSchema) ?? true, options), { minLength, maxLength });
    }
    case 'object':
      return objectIn(schema, options);
    default:
      // No type: anything (zod's `unknown`, or a schema zod could not describe).
      return anyJson();
  }
}

/**
 * Values that `schema` most likely refuses: a valid one (generated, or one of `seeds`) with one
 * to three parts broken.
 */
export function mutatedValue(schema: JsonSchema, options: SchemaArbitraryOptions = {}, seeds: readonly unknown[] = []): fc.Arbitrary<unknown> {
  const mutation = fc.record({ at: fc.nat(), kind: fc.constantFrom('replace', 'replace', 'remove', 'add'), key: fieldName(options), value: hostileValue(options.dictionary) });
  const valid = seeds.length > 0 ? fc.oneof(fc.constantFrom(...seeds), validValue(schema, options)) : validValue(schema, options);
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([value, mutations]) => {
    let result: unknown = copy(value);
    for (const m of mutations) result = mutate(result, { ...m, value: copy(m.value) });
    return result;
  });
}

type Mutation = { at: number; kind: 'replace' | 'remove' | 'add'; key: string; value: unknown };
type Slot = { parent: Record<string, unknown> | unknown[] | null; key: string | number; node: unknown };

/** A deep copy: generated values are shared between runs and must not be changed in place. */
function copy(value: unknown): unknown {
  if (value instanceof RawJson || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copy);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)]));
}

/** Every node of a JSON value with where it sits, root first (a RawJson piece is one leaf). */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [{ parent: null, key: '', node: root }];
  for (let i = 0; i < out.length; i++) {
    const { node } = out[i]!;
    if (Array.isArray(node)) node.forEach((child, index) => out.push({ parent: node, key: index, node: child }));
    else if (node !== null && typeof node === 'object' && !(node instanceof RawJson)) {
      for (const [key, child] of Object.entries(node)) out.push({ parent: node as Record<string, unknown>, key, node: child });
    }
  }
  return out;
}

function mutate(root: unknown, m: Mutation): unknown {
  const all = slots(root);
  const slot = all[m.at % all.length]!;
  if (m.kind === 'add' && slot.node !== null && typeof slot.node === 'object' && !(slot.node instanceof RawJson)) {
    if (Array.isArray(slot.node)) slot.node.push(m.value);
    else setOwn(slot.node as Record<string, unknown>, m.key, m.value);
    return root;
  }
  if (slot.parent === null) return m.value;
  if (m.kind === 'remove') {
    if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
    else delete slot.parent[slot.key as string];
    return root;
  }
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = m.value;
  else setOwn(slot.parent, slot.key as string, m.value);
  return root;
}

/** Sets an own property, even one named `__proto__` (an assignment would set the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Keys for added fields: look-alikes of real ones, prototype names, and random text. */
function fieldName(options: SchemaArbitraryOptions): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'type', 'id', 'name', 'Name', 'role', 'project', ''),
    ...(options.dictionary?.length ? [fc.constantFrom(...options.dictionary)] : []),
    fc.string({ maxLength: 12 }),
  );
}

function integerIn(schema: Record<string, unknown>): fc.Arbitrary<number> {
  const low = typeof schema.exclusiveMinimum === 'number' ? Math.floor(schema.exclusiveMinimum) + 1 : Math.ceil(numberOr(schema.minimum, Number.MIN_SAFE_INTEGER));
  const high = typeof schema.exclusiveMaximum === 'number' ? Math.ceil(schema.exclusiveMaximum) - 1 : Math.floor(numberOr(schema.maximum, Number.MAX_SAFE_INTEGER));
  const min = Math.max(low, Number.MIN_SAFE_INTEGER);
  const max = Math.min(high, Number.MAX_SAFE_INTEGER);
  // Small values first (they name things that exist: seqs, positions, limits), the edges too.
  return fc.oneof(fc.integer({ min: Math.max(min, -10), max: Math.max(Math.min(max, 100), Math.max(min, -10)) }), fc.integer({ min, max }), fc.constantFrom(min, max));
}

function numberIn(schema: Record<string, unknown>): fc.Arbitrary<number> {
  const hasMin = typeof schema.minimum === 'number' || typeof schema.exclusiveMinimum === 'number';
  const hasMax = typeof schema.maximum === 'number' || typeof schema.exclusiveMaximum === 'number';
  return fc
    .double({
      noNaN: true,
      noDefaultInfinity: true,
      ...(hasMin ? { min: numberOr(schema.exclusiveMinimum, numberOr(schema.minimum, 0)), minExcluded: typeof schema.exclusiveMinimum === 'number' } : {}),
      ...(hasMax ? { max: numberOr(schema.exclusiveMaximum, numberOr(schema.maximum, 0)), maxExcluded: typeof schema.exclusiveMaximum === 'number' } : {}),
    })
    .map((n) => (Object.is(n, -0) ? 0 : n));
}

function stringIn(schema: Record<string, unknown>, options: SchemaArbitraryOptions): fc.Arbitrary<string> {
  const minLength = numberOr(schema.minLength, 0);
  const maxLength = numberOr(schema.maxLength, Number.MAX_SAFE_INTEGER);
  const fits = (s: string) => s.length >= minLength && s.length <= maxLength;
  if (schema.format === 'date-time') {
    return fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString());
  }
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern) : undefined;
  const known = (options.dictionary ?? []).filter((word) => fits(word) && (!pattern || pattern.test(word)));
  const generated = pattern
    ? fc.stringMatching(pattern, { size: 'small' }).filter(fits)
    : fc.string({ minLength, maxLength: Math.max(minLength, Math.min(maxLength, MAX_GENERATED_LENGTH)), unit: fc.constantFrom('a', 'b', '0', '-', ' ', 'é', '😀', '/', '\u0000', '\n', '\u001b') }).filter(fits);
  return known.length > 0 ? fc.oneof({ arbitrary: fc.constantFrom(...known), weight: 2 }, { arbitrary: generated, weight: 1 }) : generated;
}

function objectIn(schema: Record<string, unknown>, options: SchemaArbitraryOptions): fc.Arbitrary<unknown> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  const model = Object.fromEntries(Object.entries(properties).map(([key, s]) => [key, validValue(s, options)]));
  const requiredKeys = Object.keys(properties).filter((key) => required.has(key));
  // Optional fields often depend on one another (an image or a release, not both): the bare
  // required ones too, so that valid requests mostly succeed.
  const known = fc.oneof(fc.record(model, { requiredKeys }), fc.record(Object.fromEntries(requiredKeys.map((key) => [key, model[key]!]))));
  const extra = schema.additionalProperties;
  if (extra === undefined || extra === false || Object.keys(properties).length > 0) return known;
  // A record (zod's z.record): a few keys of the described kind.
  const keys = (schema.propertyNames as JsonSchema | undefined) ?? { type: 'string' };
  return fc.dictionary(validValue(keys, options) as fc.Arbitrary<string>, validValue(extra as JsonSchema, options), { maxKeys: 4 });
}

function mergeAll(schemas: JsonSchema[]): JsonSchema {
  const merged: Record<string, unknown> = { type: 'object', properties: {}, required: [] };
  for (const s of schemas) {
    if (typeof s !== 'object') continue;
    Object.assign(merged.properties as object, s.properties ?? {});
    (merged.required as string[]).push(...asSchemas(s.required).map(String));
  }
  return merged;
}

function anyJson(): fc.Arbitrary<unknown> {
  return fc.jsonValue({ maxDepth: 2 });
}
