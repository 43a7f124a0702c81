import { ENV_KEY_RULE, EnvKey, parseLabels, type Labels } from '@tapit/protocol';
import type { z } from 'zod';
import { UsageError } from './errors.js';
import { validateRequest } from './validate.js';

/** One `key=value` a command accepts, and the request field it fills. */
export interface KeyDef {
  field: string;
  /**
   * `labels`: `key=K=V`, repeatable, gathered into one object (`constraint=region=eu constraint=gpu=true`).
   * `env`: `env=K=V`, repeatable, gathered the same way; the value may hold any text (`=` too).
   */
  type: 'string' | 'number' | 'boolean' | 'labels' | 'env';
  required?: boolean;
  /** `key=none` sends null (e.g. `max_hours=none`: no time limit). */
  nullable?: boolean;
  /** The word that means null, when not `none` (e.g. `cpu=auto`: what the agent offers). */
  nullWord?: string;
  /**
   * What the key takes, said when its value is refused, where the schema's own message is generic
   * (`expected number`): `allowed values are allow, forbid, replace`.
   */
  allowed?: string;
}

export interface KeyValueSpec {
  keys: Record<string, KeyDef>;
  /** The one bare word the command takes (a task's command, an app's name), if any. */
  positional?: { field: string; name: string; required: boolean };
}

export interface ParsedKeyValues {
  body: Record<string, unknown>;
  /** What the user typed per field, to quote it back in messages. */
  typed: Record<string, string>;
}

const KEY_VALUE = /^([a-z][a-z0-9_]*)=(.*)$/s;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Splits `key=value` arguments from the bare word, in one shared way for every command. A token
 * that does not name a known key fills the bare word first, so a command such as `A=1 env` or
 * `a=1; echo $a` is taken as the command; once it is filled, an unknown key is an error.
 */
export function parseKeyValues(args: readonly string[], spec: KeyValueSpec): ParsedKeyValues {
  const body: Record<string, unknown> = {};
  const typed: Record<string, string> = {};
  const allowed = allowedKeys(spec);
  let positionalSeen = false;
  for (const arg of args) {
    const match = KEY_VALUE.exec(arg);
    const def = match ? spec.keys[match[1]] : undefined;
    if (match && def) {
      const [, key, value] = match;
      if (def.type === 'env') {
        // Only the name is quoted back: a value may be a secret.
        const [name, assigned] = parseEnvAssignment(value, `${key}=`);
        typed[key] = key in typed ? `${typed[key]} ${name}` : name;
        const vars = (body[def.field] ?? {}) as Record<string, string>;
        if (name in vars) throw new UsageError(`${key}= gives ${name} twice`);
        body[def.field] = { ...vars, [name]: assigned };
        continue;
      }
      if (def.type === 'labels') {
        typed[key] = key in typed ? `${typed[key]} ${value}` : value;
        body[def.field] = addLabel(body[def.field] as Labels | undefined, key, value);
        continue;
      }
      if (key in typed) throw new UsageError(`Key "${key}" given twice`);
      typed[key] = value;
      body[def.field] = convert(value, def);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      throw new UsageError(`Unknown flag "${arg}": see --help for the flags this command takes`);
    }
    if (spec.positional && !positionalSeen) {
      positionalSeen = true;
      body[spec.positional.field] = arg;
      typed[spec.positional.name] = arg;
      continue;
    }
    if (match) throw new UsageError(`Unknown key "${match[1]}": ${allowed}`);
    throw new UsageError(`Unexpected argument "${arg}": ${allowed}`);
  }
  if (spec.positional?.required && !positionalSeen) {
    throw new UsageError(`Missing ${spec.positional.name}: give it as the first argument`);
  }
  for (const [key, def] of Object.entries(spec.keys)) {
    if (def.required && !(key in typed)) throw new UsageError(`Missing key "${key}": ${requiredKeys(spec)}; ${allowed}`);
  }
  return { body, typed };
}

/** Parses the arguments and validates the resulting request with the command's protocol schema. */
export function parseRequest<S extends z.ZodType>(
  schema: S,
  args: readonly string[],
  spec: KeyValueSpec,
  extra: Record<string, unknown> = {},
): z.output<S> {
  const { body, typed } = parseKeyValues(args, spec);
  return validateKeyValues(schema, { ...extra, ...body }, spec, typed);
}

/** Validates a body parsed from `spec`: a refused field is named by its key and what was typed. */
export function validateKeyValues<S extends z.ZodType>(schema: S, body: unknown, spec: KeyValueSpec, typed: Record<string, string>): z.output<S> {
  return validateRequest(
    schema,
    body,
    (field) => labelFor(field, spec, typed),
    (field) => Object.values(spec.keys).find((def) => def.field === field)?.allowed,
  );
}

/**
 * For `tapit update NOUN NAME key=…`: the bare word (the name) checked with `nameSchema`, the
 * keys with the request's own schema, each error naming what was typed; at least one key.
 */
export function parseNamedRequest<N extends z.ZodType, S extends z.ZodType>(
  nameSchema: N,
  schema: S,
  args: readonly string[],
  spec: KeyValueSpec & { positional: NonNullable<KeyValueSpec['positional']> },
): { name: z.output<N>; request: z.output<S> } {
  const { body, typed } = parseKeyValues(args, spec);
  const { [spec.positional.field]: name, ...rest } = body;
  if (Object.keys(rest).length === 0) {
    const keys = Object.keys(spec.keys).map((key) => `${key}=…`);
    throw new UsageError(`Nothing to change: give ${keys.length > 1 ? `${keys.slice(0, -1).join(', ')} or ${keys.at(-1)}` : keys[0]}`);
  }
  return { name: validateRequest(nameSchema, name, () => labelFor(spec.positional.field, spec, typed)), request: validateKeyValues(schema, rest, spec, typed) };
}

/**
 * `value "lots" for memory`: the key and what was typed, for a field the schema rejected. Quoted
 * as JSON, so a control character typed shows as `\r` instead of acting on the terminal.
 */
export function labelFor(field: string, spec: KeyValueSpec, typed: Record<string, string>): string {
  if (spec.positional?.field === field) return `${spec.positional.name} ${JSON.stringify(typed[spec.positional.name] ?? '')}`;
  const key = Object.keys(spec.keys).find((k) => spec.keys[k].field === field);
  if (key === undefined) return field;
  return key in typed ? `value ${JSON.stringify(typed[key])} for ${key}` : key;
}

/**
 * `KEY=VALUE` of an env var into its name and value (split at the first `=`); the name is checked
 * here, so a bad one is named with the rule before anything is sent. `what` names the flag or key.
 */
export function parseEnvAssignment(text: string, what: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`Bad ${what}${JSON.stringify(text.slice(0, 100))}: give KEY=VALUE, e.g. RAILS_ENV=production`);
  const name = text.slice(0, at);
  if (!EnvKey.safeParse(name).success) throw new UsageError(`Bad ${what}: env var name ${JSON.stringify(name.slice(0, 100))} ${ENV_KEY_RULE}`);
  return [name, text.slice(at + 1)];
}

/** One `K=V` of a repeatable labels key into the labels gathered so far; `none` alone means no labels. */
function addLabel(labels: Labels | undefined, key: string, value: string): Labels {
  if (value === 'none') {
    if (labels !== undefined) throw new UsageError(`${key}=none cannot be combined with other ${key}= values`);
    return {};
  }
  let parsed: Labels;
  try {
    parsed = parseLabels([value]);
  } catch (error) {
    throw new UsageError(`Bad ${key}=${value}: ${(error as Error).message}`);
  }
  const [[label, wanted]] = Object.entries(parsed) as [[string, string]];
  if (labels !== undefined && label in labels && labels[label] !== wanted) throw new UsageError(`${key}= gives ${label} twice, as ${labels[label]} and ${wanted}`);
  return { ...labels, ...parsed };
}

function convert(value: string, def: KeyDef): unknown {
  if (def.nullable && value === (def.nullWord ?? 'none')) return null;
  // A value that is not a number (or true/false) is passed on as text so the schema's own message ("must be a number of
  // GB from …") describes what is allowed.
  if (def.type === 'number' && NUMBER.test(value)) return Number(value);
  if (def.type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  return value;
}

function allowedKeys(spec: KeyValueSpec): string {
  const keys = Object.keys(spec.keys);
  return keys.length === 0 ? 'this command takes no key=value arguments' : `allowed keys are ${keys.join(', ')}`;
}

function requiredKeys(spec: KeyValueSpec): string {
  const keys = Object.entries(spec.keys).filter(([, def]) => def.required).map(([key]) => key);
  return `required ${keys.length === 1 ? 'key is' : 'keys are'} ${keys.join(', ')}`;
}
