/**
 * `registry:5000/team/app:1.2@sha256:…` with its tag replaced: the digest goes too, since it
 * pinned the old tag. A colon counts as a tag only after the last slash (a registry port is not).
 */
export function withTag(image: string, tag: string): string {
  const withoutDigest = image.split('@')[0];
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  const repository = lastColon > lastSlash ? withoutDigest.slice(0, lastColon) : withoutDigest;
  return `${repository}:${tag}`;
}
