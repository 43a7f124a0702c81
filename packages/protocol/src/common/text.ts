import { z } from 'zod';

/** A lone UTF-16 surrogate cannot be stored as JSON text (or sent as UTF-8). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text a task carries to a container: no NUL (Docker and the kernel cut there), well formed. */
export const TaskText = z
  .string()
  .refine((s) => !s.includes('\0'), 'must not contain NUL bytes')
  .refine((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode');
