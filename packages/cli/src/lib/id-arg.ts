import { z } from 'zod';
import { UsageError } from './errors.js';
import { parseKeyValues } from './key-values.js';
import { validateRequest } from './validate.js';

/**
 * The id named by a command's arguments: `NOUN=ID` as the tapit docs write it, or a bare `ID` as
 * SetOps does. Ids are lowercase hex; a unique prefix is accepted (the API resolves it).
 */
export function parseIdArg(argv: readonly string[], noun: string, schema: z.ZodType<string> = hexPrefix(noun)): string {
  const { body, typed } = parseKeyValues(argv, {
    positional: { field: noun, name: noun, required: false },
    keys: { [noun]: { field: noun, type: 'string' } },
  });
  if (body[noun] === undefined) throw new UsageError(`Missing key "${noun}": give ${noun}=ID, an id or a unique prefix of at least 4 characters`);
  // Accepted as pasted from anywhere, in either case.
  const id = String(body[noun]).toLowerCase();
  return validateRequest(z.object({ id: schema }), { id }, () => `${noun} ${JSON.stringify(typed[noun])}`).id;
}

/** 4 to 32 lowercase hex characters, the message naming what kind of id. */
function hexPrefix(noun: string): z.ZodType<string> {
  return z.string().regex(/^[0-9a-f]{4,32}$/, `must be 4 to 32 lowercase hex characters of a ${noun} id`);
}
