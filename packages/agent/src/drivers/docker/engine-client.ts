import { createRequire } from 'node:module';
import Docker from 'dockerode';

/*
 * docker-modem (dockerode's HTTP layer) follows redirects by itself, to whatever host the
 * Location names and without an error listener on the new request: a 301 from the engine (its
 * router cleans paths such as `/images/a/../b/json`) made agents connect to arbitrary hosts and
 * crash on the unhandled error (issue 8). The engine never has a reason to redirect, so the
 * agent follows none: with a limit of 0 the modem fails the original request instead, and that
 * error reaches the caller like any other.
 */
let configured = false;

function refuseRedirects(): void {
  if (configured) return;
  // The modem dockerode itself loads, found from dockerode's own location.
  const fromDockerode = createRequire(createRequire(import.meta.url).resolve('dockerode'));
  const modemHttp = fromDockerode('docker-modem/lib/http.js') as { maxRedirects: number };
  modemHttp.maxRedirects = 0;
  configured = true;
}

/** A client for the engine at DOCKER_HOST (Docker's default without it), or `docker` as given. */
export function engineClient(docker?: Docker): Docker {
  refuseRedirects();
  return docker ?? new Docker();
}
