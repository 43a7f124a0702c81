import type Docker from 'dockerode';
import { imageRefProblem, type PullAuth, type PullPolicy } from '@tapit/protocol';
import { StartError } from '../driver.js';

/** The engine's own words for a failed call (dockerode wraps them in `(HTTP code …)`). */
export function engineMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string } | null;
  if (e?.json && typeof e.json === 'object' && typeof e.json.message === 'string') return e.json.message.trim();
  // The modem refused to follow a redirect (engine-client.ts).
  if (/^Max redirects exceeded/.test(e?.message ?? '')) return 'the Docker engine answered with a redirect, which the agent does not follow';
  // Without a JSON body dockerode only has its own wrapper: keep the engine's part.
  return (e?.message ?? String(error)).replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
}

export function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: number } | null)?.statusCode === 404;
}

interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** What a present image tells the driver: how the task will name it, and the paths it keeps apart. */
export interface ImageFacts {
  /** The image's id (`sha256:…`), as a container's inspect names its image. */
  id: string | null;
  /** Repo digest, or image id when it has none. */
  digest: string | null;
  /** The image's VOLUME paths. */
  volumes: string[];
}

/** How a task's image is pulled: the app's policy, and its project's credentials for the registry. */
export interface PullOptions {
  policy: PullPolicy;
  auth?: PullAuth;
}

/**
 * Makes `image` present as `policy` says (`missing`: pulled unless there, `always`: pulled
 * every time, `never`: must be there), pulling with `auth` when given; progress goes to `say`;
 * failure is a StartError with the engine's (or the registry's) words. The reference is checked
 * before the engine hears of it: the scheduler checked it too, but the agent trusts no input (a
 * path such as `a/../b` would reach another engine endpoint).
 */
export async function ensureImage(docker: Docker, image: string, say: (text: string) => void, options: PullOptions = { policy: 'missing' }): Promise<ImageFacts> {
  const problem = imageRefProblem(image);
  if (problem) throw new StartError(`image ${JSON.stringify(image.slice(0, 300))}: ${problem}`);
  if (options.policy !== 'always') {
    try {
      return factsOf(image, await docker.getImage(image).inspect());
    } catch (error) {
      if (!isNotFound(error)) throw new StartError(engineMessage(error));
    }
    if (options.policy === 'never') throw new StartError(`image ${image} is not on this agent's Docker engine, and the app's pull policy is never`);
  }
  say(`Pulling image ${image}${options.auth ? ` (as ${options.auth.username} on ${options.auth.registry})` : ''}`);
  try {
    // The credentials go to the engine for this pull only (X-Registry-Auth), never to disk.
    const auth = options.auth ? { authconfig: { username: options.auth.username, password: options.auth.password, serveraddress: options.auth.registry } } : {};
    const stream = (await docker.pull(image, auth)) as NodeJS.ReadableStream;
    await readProgress(stream, (event) => {
      // Per-layer byte counters would flood the log; keep the steps.
      if (event.status && !event.progressDetail?.current) say(event.id ? `${event.id}: ${event.status}` : event.status);
    });
    return factsOf(image, await docker.getImage(image).inspect());
  } catch (error) {
    throw new StartError(`pulling image ${image} failed: ${engineMessage(error)}`);
  }
}

/**
 * Reads a pull's JSON-lines progress to its end. Unlike the modem's followProgress, every error
 * stays handled (a second `error` event, a line that is not JSON, a throwing listener): a pull
 * can fail its task, never the agent.
 */
function readProgress(stream: NodeJS.ReadableStream, onEvent: (event: PullEvent) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let buffered = '';
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
      reject(error);
    };
    stream.on('error', fail);
    stream.on('data', (chunk: Buffer | string) => {
      if (settled) return;
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        try {
          const event = JSON.parse(line) as PullEvent;
          if (event.error) return fail(new Error(event.errorDetail?.message ?? event.error));
          onEvent(event);
        } catch (error) {
          return fail(error);
        }
      }
    });
    const end = () => {
      if (settled) return;
      settled = true;
      resolve();
    };
    stream.on('end', end);
    stream.on('close', end);
  });
}

function factsOf(image: string, info: Docker.ImageInspectInfo): ImageFacts {
  return { id: info.Id ?? null, digest: repoDigestOf(image, info.RepoDigests ?? []) ?? info.Id ?? null, volumes: Object.keys(info.Config?.Volumes ?? {}) };
}

/**
 * The repo digest of the repository `image` names: an image pulled from two registries (or
 * under two names) has one per repository, and the task ran the one it named.
 */
export function repoDigestOf(image: string, repoDigests: string[]): string | null {
  const name = image.split('@')[0]!.replace(/:[^/:]+$/, '');
  // Docker Hub names come back short (`busybox@…`, `acme/web@…`), as they are written.
  return repoDigests.find((digest) => digest.split('@')[0] === name) ?? repoDigests[0] ?? null;
}
