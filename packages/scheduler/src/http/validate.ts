import { describeIssues } from '@tapit/protocol';
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError } from './api-error.js';

function fail(error: z.ZodError): never {
  const issue = error.issues[0];
  // An unknown key is reported on its parent object: name the key itself.
  const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const field = [...(issue?.path ?? []), ...(unknownKey ? [unknownKey] : [])].join('.') || undefined;
  throw new ApiError('VALIDATION_FAILED', describeIssues(error), field);
}

/** The request body, parsed with `schema`; bad JSON or a bad field is a 400 naming it. */
export async function parseBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    throw new ApiError('VALIDATION_FAILED', 'body must be a JSON object');
  }
  return parseValue(json, schema);
}

/** A value (a body, or what a dashboard form gave), parsed with `schema`; a bad field is a 400 naming it, as for a body. */
export function parseValue<S extends z.ZodType>(value: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) fail(result.error);
  return result.data;
}

/** The query string, parsed with `schema`. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  const result = schema.safeParse(c.req.query());
  if (!result.success) fail(result.error);
  return result.data;
}

/** A path parameter, parsed with `schema` and named in the error. */
export function parseParam<S extends z.ZodType>(c: Context, name: string, schema: S): z.output<S> {
  const result = schema.safeParse(c.req.param(name));
  if (!result.success) throw new ApiError('VALIDATION_FAILED', `${name}: ${result.error.issues[0]?.message}`, name);
  return result.data;
}
