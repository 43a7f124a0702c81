import { z } from 'zod';

/** Most labels one agent carries, or one app or task requires. */
export const MAX_LABELS = 32;

/** `region`, `gpu`, `example.com/zone`: lowercase, as Kubernetes label keys without upper case. */
export const LabelKey = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/, 'must be 1 to 63 lowercase letters, digits, ".", "_", "/" or "-", starting and ending with a letter or digit');

export const LabelValue = z
  .string()
  .regex(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/, 'must be 1 to 63 letters, digits, ".", "_" or "-", starting and ending with a letter or digit');

/**
 * `key=value` pairs: the labels an agent carries (TAPIT_AGENT_LABELS), and the labels an app or
 * task requires of its agent (`constraint=region=eu`). A task runs only on an agent carrying
 * every label it requires, with the same value.
 */
export const Labels = z
  .record(LabelKey, LabelValue)
  .refine((labels) => Object.keys(labels).length <= MAX_LABELS, `must have at most ${MAX_LABELS} labels`);
export type Labels = z.infer<typeof Labels>;

/**
 * `region=eu,gpu=true` (or the same pairs as separate strings) as labels. Throws an Error naming
 * the bad pair; the caller says where it came from (a variable, a key).
 */
export function parseLabels(pairs: string | readonly string[]): Labels {
  const list = typeof pairs === 'string' ? pairs.split(',').map((p) => p.trim()).filter((p) => p !== '') : pairs;
  const labels: Record<string, string> = {};
  for (const pair of list) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`"${pair}" must be KEY=VALUE, e.g. region=eu`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const checkedKey = LabelKey.safeParse(key);
    if (!checkedKey.success) throw new Error(`label key "${key}" ${checkedKey.error.issues[0]!.message}`);
    const checkedValue = LabelValue.safeParse(value);
    if (!checkedValue.success) throw new Error(`value "${value}" of label ${key} ${checkedValue.error.issues[0]!.message}`);
    if (key in labels && labels[key] !== value) throw new Error(`label ${key} is given twice, as ${labels[key]} and ${value}`);
    labels[key] = value;
  }
  if (Object.keys(labels).length > MAX_LABELS) throw new Error(`at most ${MAX_LABELS} labels are allowed`);
  return labels;
}

/** Whether an agent carrying `labels` satisfies every constraint. */
export function satisfies(labels: Labels, constraints: Labels): boolean {
  return Object.entries(constraints).every(([key, value]) => labels[key] === value);
}

// Shown alike by the CLI and the dashboard (format/text.ts, loaded without zod).
export { formatLabels } from '../format/text.js';
