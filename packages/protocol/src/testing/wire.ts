import type { z } from 'zod';

/*
 * Helpers for the protocol's own tests (excluded from the build). They use zod only, so the
 * package keeps its one dependency even in its test support.
 */

/** Sends a value the way every message travels, as JSON text, and parses it on the other side. */
export function overTheWire<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  return schema.parse(JSON.parse(JSON.stringify(value)));
}

/**
 * The fields a schema blames when it rejects a value, each once, as dotted paths (`capacity.cpu`,
 * `args.1`, `` for the value itself); empty when it accepts the value. An unknown key of a
 * strict object is reported by zod at the object's path, so the key's own path is given instead.
 */
export function rejectedFields(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  if (result.success) return [];
  const fields = result.error.issues.flatMap((issue) => {
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    return paths.map((path) => path.map(String).join('.'));
  });
  return [...new Set(fields)];
}

/** A copy of an object without one of its keys: the "missing field" case. */
export function without<T extends object, K extends keyof T>(value: T, key: K): Omit<T, K> {
  const { [key]: _dropped, ...rest } = value;
  return rest;
}
