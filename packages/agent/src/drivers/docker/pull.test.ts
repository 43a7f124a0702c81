import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { StartError } from '../driver.js';
import { ensureImage, repoDigestOf } from './pull.js';

// A pull's progress stream misbehaving (garbage, errors after the end): the engine cannot be made
// to do it on demand, so an engine of the test's own hands ensureImage such a stream.
function engineWithPull(feed: (stream: PassThrough) => void): Docker {
  return {
    modem: new Docker().modem, // the real one: what the driver reads progress with is not faked
    getImage: () => ({ inspect: () => Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 })) }),
    pull: async () => {
      const stream = new PassThrough();
      setImmediate(() => feed(stream));
      return stream;
    },
  } as unknown as Docker;
}

describe('ensureImage', () => {
  it('fails the start, not the agent, on a progress line that is not JSON', async () => {
    const docker = engineWithPull((s) => s.end('{"status":"Pulling fs layer","id":"a"}\nnot json\n'));
    const lines: string[] = [];
    await expect(ensureImage(docker, 'busybox:1', (l) => lines.push(l))).rejects.toThrow(StartError);
    expect(lines).toEqual(['Pulling image busybox:1', 'a: Pulling fs layer']);
  });

  it('fails the start on an error event, and a later error on the same stream goes nowhere', async () => {
    const docker = engineWithPull((s) => {
      s.emit('error', new Error('connection reset'));
      s.emit('error', new Error('and again'));
    });
    await expect(ensureImage(docker, 'busybox:1', () => undefined)).rejects.toThrow('pulling image busybox:1 failed: connection reset');
  });

  it('reports the engine\'s own error line', async () => {
    const docker = engineWithPull((s) => s.end('{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n'));
    await expect(ensureImage(docker, 'busybox:1', () => undefined)).rejects.toThrow('pulling image busybox:1 failed: manifest unknown');
  });
});

describe('repoDigestOf', () => {
  const digests = ['ghcr.io/acme/web@sha256:aaa', '127.0.0.1:5000/web@sha256:bbb', 'busybox@sha256:ccc'];

  it('takes the digest of the repository the image names, with or without its tag or digest', () => {
    expect(repoDigestOf('127.0.0.1:5000/web:v1', digests)).toBe('127.0.0.1:5000/web@sha256:bbb');
    expect(repoDigestOf('127.0.0.1:5000/web', digests)).toBe('127.0.0.1:5000/web@sha256:bbb');
    expect(repoDigestOf('127.0.0.1:5000/web@sha256:bbb', digests)).toBe('127.0.0.1:5000/web@sha256:bbb');
    expect(repoDigestOf('busybox:1.36', digests)).toBe('busybox@sha256:ccc');
  });

  it('falls back to the first, or none', () => {
    expect(repoDigestOf('docker.io/library/busybox:1', digests)).toBe('ghcr.io/acme/web@sha256:aaa');
    expect(repoDigestOf('busybox', [])).toBeNull();
  });
});
