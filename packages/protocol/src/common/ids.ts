import { z } from 'zod';

/** Task ids are 32 lowercase hex characters (SetOps style); the CLI accepts a unique prefix. */
export const TaskId = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');
export type TaskId = z.infer<typeof TaskId>;

/** A prefix of a task id, as users type it: at least 4 hex characters. */
export const TaskIdPrefix = z.string().regex(/^[0-9a-f]{4,32}$/, 'must be 4 to 32 lowercase hex characters of a task id');

/** Names of projects, stages, apps, agents and tokens. */
export const Name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1 to 63 lowercase letters, digits or dashes, starting with a letter or digit');
export type Name = z.infer<typeof Name>;

export const Timestamp = z.iso.datetime({ offset: true });
export type Timestamp = z.infer<typeof Timestamp>;
