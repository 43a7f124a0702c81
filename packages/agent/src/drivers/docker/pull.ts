import type Docker from 'dockerode';
import { StartError } from '../driver.js';

/** The engine's own words for a failed call (dockerode wraps them in `(HTTP code …)`). */
export function engineMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string } | null;
  if (e?.json && typeof e.json === 'object' && typeof e.json.message === 'string') return e.json.message.trim();
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

/** Pulls `image` unless present; progress goes to `say`; failure is a StartError. */
export async function ensureImage(docker: Docker, image: string, say: (text: string) => void): Promise<string | null> {
  try {
    return digestOf(await docker.getImage(image).inspect());
  } catch (error) {
    if (!isNotFound(error)) throw new StartError(engineMessage(error));
  }
  say(`Pulling image ${image}`);
  try {
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (err: unknown) => (err ? reject(err) : resolve()),
        (event: PullEvent) => {
          if (event.error) return reject(new Error(event.errorDetail?.message ?? event.error));
          // Per-layer byte counters would flood the log; keep the steps.
          if (event.status && !event.progressDetail?.current) say(event.id ? `${event.id}: ${event.status}` : event.status);
        },
      );
    });
    return digestOf(await docker.getImage(image).inspect());
  } catch (error) {
    throw new StartError(`pulling image ${image} failed: ${engineMessage(error)}`);
  }
}

function digestOf(info: Docker.ImageInspectInfo): string | null {
  return info.RepoDigests?.[0] ?? info.Id ?? null;
}
