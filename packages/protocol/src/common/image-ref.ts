import { z } from 'zod';

/*
 * Docker's image reference grammar (github.com/distribution/reference):
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [ domain "/" ] path-component *( "/" path-component ), at most 255 characters
 *   domain    := host [ ":" port ]   host: DNS labels joined by "." or "[" IPv6 "]"
 *   path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [\w][\w.-]{0,127}
 *   digest    := algorithm ":" hex   (sha256, sha384 or sha512, lowercase hex of their length)
 * Anything else — `..`, an empty component, a URL — never reaches the engine: the engine's
 * router would clean such a path and answer with a redirect (issue 8).
 */

/** Longest name part Docker accepts. */
export const IMAGE_NAME_MAX = 255;
/** name + ":" + tag + "@sha512:" + 128 hex. */
const IMAGE_REF_MAX = IMAGE_NAME_MAX + 1 + 128 + 8 + 128;

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DNS_LABEL = /^(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])$/;
const IPV6_HOST = /^\[[A-Fa-f0-9:]+\]$/;
const DIGEST_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const EXAMPLES = 'e.g. busybox:1.36, ghcr.io/acme/web:1.4 or registry.local:5000/team/app@sha256:…';

/** A value quoted in a message: JSON-escaped, cut to a readable length. */
function shown(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

function isDomain(part: string): boolean {
  const colon = part.startsWith('[') ? part.indexOf(':', part.indexOf(']')) : part.indexOf(':');
  const host = colon < 0 ? part : part.slice(0, colon);
  if (colon >= 0 && !/^[0-9]+$/.test(part.slice(colon + 1))) return false;
  return IPV6_HOST.test(host) || host.split('.').every((label) => DNS_LABEL.test(label));
}

/** The registry an image is pulled from, as Docker names it: `host[:port]`, or `docker.io` for Docker Hub. */
export function imageRegistry(ref: string): string {
  const name = ref.split('@')[0]!;
  const first = name.split('/')[0]!;
  // As Docker reads it: a first part with a "." or ":", or `localhost`, is a registry.
  if (name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') && isDomain(first)) return first.toLowerCase();
  return 'docker.io';
}

/** Why `host` is not a registry host (`host[:port]`), or null if it is one. */
export function registryHostProblem(host: string): string | null {
  if (host.length === 0 || host.length > 255 || !isDomain(host) || host.includes('/')) {
    return `must be a registry host, host[:port] as in an image name (e.g. ghcr.io, registry.local:5000 or docker.io), not ${shown(host)}`;
  }
  return null;
}

/** Why `tag` is not a Docker tag, or null if it is one. */
export function dockerTagProblem(tag: string): string | null {
  return TAG.test(tag) ? null : `tag ${shown(tag)} must be 1 to 128 letters, digits, "_", "." or "-", not starting with "." or "-"`;
}

/** Why `ref` is not an image reference Docker accepts, or null if it is one. */
export function imageRefProblem(ref: string): string | null {
  if (ref.length === 0) return 'must not be empty';
  if (ref.length > IMAGE_REF_MAX) return `must be at most ${IMAGE_REF_MAX} characters`;
  let rest = ref;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const digest = rest.slice(at + 1);
    const [algorithm = '', hex = ''] = digest.split(/:(.*)/s);
    const length = DIGEST_HEX[algorithm];
    if (length === undefined || hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
      return `digest ${shown(digest)} must be sha256:, sha384: or sha512: with that many lowercase hex digits (${EXAMPLES})`;
    }
    rest = rest.slice(0, at);
  }
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    const problem = dockerTagProblem(rest.slice(colon + 1));
    if (problem) return problem;
    rest = rest.slice(0, colon);
  }
  if (rest.length === 0) return `must start with an image name (${EXAMPLES})`;
  if (rest.length > IMAGE_NAME_MAX) return `name must be at most ${IMAGE_NAME_MAX} characters`;
  if (/^[a-f0-9]{64}$/.test(ref)) return 'must be an image name, not a 64-character image id';
  const parts = rest.split('/');
  // The first part is a registry when something follows it and it reads as host[:port].
  const first = parts.length > 1 && isDomain(parts[0]!) ? 1 : 0;
  for (const part of parts.slice(first)) {
    if (!PATH_COMPONENT.test(part)) {
      return `${shown(part)} is not a valid part of an image name: lowercase letters and digits, separated by ".", "_", "__" or "-" (${EXAMPLES})`;
    }
  }
  return null;
}

/** An image reference as Docker accepts it (the grammar above). */
export const ImageRef = z.string().superRefine((ref, ctx) => {
  const problem = imageRefProblem(ref);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A Docker image tag: what `docker_tag=` replaces the app image's tag with. */
export const DockerTag = z.string().superRefine((tag, ctx) => {
  const problem = dockerTagProblem(tag);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
