import { describe, expect, it } from 'vitest';
import { DockerTag, ImageRef, imageRegistry, registryHostProblem } from './image-ref.js';

const sha256 = `sha256:${'a'.repeat(64)}`;

describe('ImageRef', () => {
  it.each([
    'busybox',
    'busybox:1.36',
    'library/busybox:latest',
    'ghcr.io/acme/web:1.4.3',
    `registry.local:5000/shop/web@${sha256}`,
    `web:1.2@${sha256}`,
    'localhost:5000/a',
    '[::1]:5000/team/app:v1',
    'Registry.Example.com/team/app',
    'a__b/c-d/e.f/g---h',
    `team/app@sha512:${'0'.repeat(128)}`,
    `${'a'.repeat(255)}:${'t'.repeat(128)}@sha512:${'f'.repeat(128)}`,
  ])('accepts %s', (image) => {
    expect(ImageRef.parse(image)).toBe(image);
  });

  it.each([
    ['empty', '', /^must not be empty/],
    // The references of issue 8: the engine cleans `..` away and answers with a redirect.
    ['climbing out of /images', 'a/../b', /^"\.\." is not a valid part of an image name/],
    ['naming another host', 'a/../../127.0.0.1:9/path', /^"\.\." is not a valid part/],
    ['a URL', 'http://example.com/x', /^"http:" is not a valid part|^tag "\/\/example.com\/x"/],
    ['an empty part', 'a//b', /^"" is not a valid part/],
    ['a leading slash', '/busybox', /^"" is not a valid part/],
    ['uppercase in the path', 'acme/Web', /^"Web" is not a valid part/],
    ['a dot at the start of a part', 'acme/.web', /is not a valid part/],
    ['a trailing separator', 'web-', /is not a valid part/],
    ['with a space', 'busybox latest', /is not a valid part|^tag/],
    ['an option', '--privileged', /is not a valid part/],
    ['with a newline', 'busybox\n', /^"busybox\\n" is not a valid part/],
    ['a query', 'busybox?x=1', /is not a valid part/],
    ['a bad tag', 'busybox:-1', /^tag "-1" must be/],
    ['a tag too long', `busybox:${'t'.repeat(129)}`, /^tag "t+…" must be/],
    ['a tag only', ':latest', /^must start with an image name/],
    ['an unknown digest algorithm', `busybox@md5:${'a'.repeat(32)}`, /^digest "md5:a+…?" must be sha256/],
    ['a short digest', 'busybox@sha256:abc', /^digest "sha256:abc" must be/],
    ['an uppercase digest', `busybox@sha256:${'A'.repeat(64)}`, /^digest/],
    ['an image id', 'f'.repeat(64), /^must be an image name, not a 64-character image id/],
    ['a name too long', 'a'.repeat(256), /^name must be at most 255 characters/],
    ['too long', 'a'.repeat(600), /^must be at most 520 characters/],
    ['a bad port', 'registry:50x0/app', /is not a valid part|^tag/],
  ])('refuses %s', (_what, image, message) => {
    const issues = ImageRef.safeParse(image).error?.issues;
    expect(issues?.length, image).toBe(1);
    expect(issues?.[0]?.message).toMatch(message);
  });

  it('refuses a huge value by its length, before any pattern runs on it', () => {
    expect(ImageRef.safeParse('a-'.repeat(500_000)).error?.issues[0]?.message).toMatch(/^must be at most 520 characters/);
  });
});

describe('DockerTag', () => {
  it('is what Docker accepts as a tag', () => {
    for (const tag of ['latest', '1.4.3', 'v2_rc-1', '_x', 'A'.repeat(128)]) expect(DockerTag.safeParse(tag).success).toBe(true);
    for (const tag of ['', '-x', '.x', 'a:b', 'a/b', 'a/../b', 'A'.repeat(129)]) expect(DockerTag.safeParse(tag).success).toBe(false);
  });
});

describe('imageRegistry', () => {
  it('names the registry Docker pulls an image from', () => {
    expect(imageRegistry('busybox')).toBe('docker.io');
    expect(imageRegistry('library/busybox:1.36')).toBe('docker.io');
    expect(imageRegistry('acme/web')).toBe('docker.io');
    expect(imageRegistry('ghcr.io/acme/web:1.4')).toBe('ghcr.io');
    expect(imageRegistry('Registry.Local:5000/team/app@' + sha256)).toBe('registry.local:5000');
    expect(imageRegistry('127.0.0.1:5000/demo')).toBe('127.0.0.1:5000');
    expect(imageRegistry('localhost/demo')).toBe('localhost');
    // A host alone is an image name, not a registry.
    expect(imageRegistry('ghcr.io')).toBe('docker.io');
  });
});

describe('registryHostProblem', () => {
  it('takes host[:port] and refuses a URL or a path', () => {
    for (const host of ['ghcr.io', 'docker.io', '127.0.0.1:5000', 'localhost', '[::1]:5000']) expect(registryHostProblem(host)).toBeNull();
    for (const host of ['', 'https://ghcr.io', 'ghcr.io/acme', 'a b', 'ghcr.io:port']) expect(registryHostProblem(host)).toMatch(/must be a registry host/);
  });
});
