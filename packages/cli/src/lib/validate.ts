import type { z } from 'zod';
import { UsageError } from './errors.js';

/**
 * Validates a request body with its protocol schema before anything is sent. The first problem
 * becomes one line that names what the user typed (`memory=lots`, `--cpu 5`), not the wire field
 * (`memoryGb`): `label` maps a field back to the user's words. `allowed` may say what a field takes
 * in the user's words where the schema's own message is generic (`expected number`).
 */
export function validateRequest<S extends z.ZodType>(
  schema: S,
  body: unknown,
  label: (field: string) => string,
  allowed: (field: string) => string | undefined = () => undefined,
): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    throw new UsageError(`Unknown field "${issue.keys[0]}"`);
  }
  const field = issue.path.length > 0 ? String(issue.path[0]) : '';
  throw new UsageError(`Invalid ${label(field)}: ${allowed(field) ?? issue.message}`);
}
