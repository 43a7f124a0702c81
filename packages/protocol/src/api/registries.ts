import { z } from 'zod';
import { Name, Timestamp } from '../common/ids.js';
import { registryHostProblem } from '../common/image-ref.js';

/** A registry's host as image names carry it: `host[:port]`, `docker.io` for Docker Hub (compared without case). */
export const RegistryHost = z
  .string()
  .superRefine((host, ctx) => {
    const problem = registryHostProblem(host);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** `tapit create registry HOST username=… password=…`: the project's credentials for HOST (replaces any it had). */
export const SetRegistryRequest = z.strictObject({
  username: z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters'),
  password: z.string().min(1, 'must not be empty').max(4096, 'must be at most 4096 characters'),
});
export type SetRegistryRequest = z.infer<typeof SetRegistryRequest>;

/** A project's credentials for a registry, as shown: never the password. */
export const Registry = z.object({
  project: Name,
  host: z.string(),
  username: z.string(),
  /** The token that set these credentials last. */
  updatedBy: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Registry = z.infer<typeof Registry>;

export const RegistryList = z.object({ items: z.array(Registry) });
export type RegistryList = z.infer<typeof RegistryList>;

/**
 * When an agent pulls a task's image: `missing` (default) only when its engine does not have it,
 * `always` before every task (a moved tag is followed), `never` (the image must be there already).
 */
export const PullPolicy = z.enum(['always', 'missing', 'never'], { error: 'must be always, missing or never' });
export type PullPolicy = z.infer<typeof PullPolicy>;
