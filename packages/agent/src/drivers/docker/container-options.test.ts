import { describe, expect, it } from 'vitest';
import { spec } from '../../testing/docker-fixtures.js';
import { containerOptions, memoryBytes, tmpfsBytes } from './container-options.js';

const ctx = { agentName: 'a1', network: 'none', storageQuota: false, pidsLimit: 1024, volumes: [] };

describe('containerOptions', () => {
  it('sets a size quota only where the storage driver can enforce one', () => {
    const s = spec('t', { resources: { cpu: 1, memoryGb: 1, maxHours: 2, ephemeralStorageGb: 0.5 } });
    expect(containerOptions(s, ctx).HostConfig!.StorageOpt).toBeUndefined();
    expect(containerOptions(s, { ...ctx, storageQuota: true }).HostConfig!.StorageOpt).toEqual({ size: String(512 * 1024 * 1024) });
    expect(containerOptions(s, ctx).Labels).toMatchObject({ 'tapit.max-hours': '2', 'tapit.ephemeral-storage-gb': '0.5' });
  });

  it('keeps the image entrypoint and command unless the spec gives them', () => {
    const s = spec('t', { command: [], entrypoint: null });
    const o = containerOptions(s, ctx);
    expect('Cmd' in o).toBe(false);
    expect('Entrypoint' in o).toBe(false);
    const p = containerOptions(spec('t', { command: ['-c', 'x'], entrypoint: ['/bin/sh'], env: { A: '1' } }), ctx);
    expect(p).toMatchObject({ Cmd: ['-c', 'x'], Entrypoint: ['/bin/sh'], Env: ['A=1'] });
  });

  it('gives an interactive task a TTY whose stdin stays open across attaches, and no user override', () => {
    const o = containerOptions(spec('t', { kind: 'interactive', command: ['sh'] }), ctx);
    expect(o).toMatchObject({ Tty: true, OpenStdin: true, StdinOnce: false, AttachStdin: true });
    expect('User' in o).toBe(false);
    expect(containerOptions(spec('t'), ctx)).toMatchObject({ Tty: false, OpenStdin: false });
  });

  it("starts a console's TTY at the user's terminal size, or 80x24 when it was not sent", () => {
    const sized = containerOptions(spec('t', { kind: 'interactive', command: ['sh'], terminal: { cols: 132, rows: 43 } }), ctx);
    expect(sized.HostConfig).toMatchObject({ ConsoleSize: [43, 132] });
    const unsized = containerOptions(spec('t', { kind: 'interactive', command: ['sh'] }), ctx);
    expect(unsized.HostConfig).toMatchObject({ ConsoleSize: [24, 80] });
    expect(containerOptions(spec('t'), ctx).HostConfig).not.toHaveProperty('ConsoleSize');
  });

  it('rounds memory to whole pages', () => {
    expect(memoryBytes(0.016) % 4096).toBe(0);
    expect(memoryBytes(0.5)).toBe(512 * 1024 * 1024);
  });

  it('drops every capability but the documented few, with no new privileges and the PIDs limit given', () => {
    expect(containerOptions(spec('t'), ctx).HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      PidsLimit: 1024,
    });
  });

  it('puts a size-limited tmpfs over each image VOLUME, and over /tmp for a read-only root', () => {
    const limited = spec('t', { resources: { cpu: 1, memoryGb: 1, maxHours: null, ephemeralStorageGb: 0.01 } });
    const size = Math.floor((0.01 * 1024 ** 3) / 4096) * 4096;
    const tmpfs = (target: string, bytes = size) => ({ Type: 'tmpfs', Source: '', Target: target, TmpfsOptions: { SizeBytes: bytes, Mode: 0o1777 } });
    expect(containerOptions(limited, { ...ctx, volumes: ['/var/lib/db', '/data'] }).HostConfig).toMatchObject({
      ReadonlyRootfs: false,
      Mounts: [tmpfs('/data'), tmpfs('/var/lib/db')],
    });
    expect(containerOptions({ ...limited, readOnly: true }, { ...ctx, volumes: ['/tmp', '/data'] }).HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      Mounts: [tmpfs('/data'), tmpfs('/tmp')],
    });
    // Without a storage limit a tmpfs is bounded by the memory limit (its pages are memory).
    expect(containerOptions(spec('t', { readOnly: true }), ctx).HostConfig!.Mounts).toEqual([tmpfs('/tmp', memoryBytes(0.25))]);
    expect(containerOptions(spec('t'), ctx).HostConfig!.Mounts).toEqual([]);
  });

  it('sizes a tmpfs in whole pages, never above the storage limit', () => {
    for (const gb of [0.001, 0.01, 0.3333, 20]) {
      const bytes = tmpfsBytes({ cpu: 1, memoryGb: 1, maxHours: null, ephemeralStorageGb: gb });
      expect(bytes % 4096).toBe(0);
      expect(bytes).toBeLessThanOrEqual(gb * 1024 ** 3);
      expect(bytes).toBeGreaterThan(gb * 1024 ** 3 - 4096);
    }
  });
});
