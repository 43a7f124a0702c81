import { describe, expect, it } from 'vitest';
import { spec } from '../../testing/docker-fixtures.js';
import { containerOptions, memoryBytes } from './container-options.js';

const ctx = { agentName: 'a1', network: 'none', storageQuota: false };

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
});
