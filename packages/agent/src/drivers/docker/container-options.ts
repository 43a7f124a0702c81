import type Docker from 'dockerode';
import type { TaskSpec } from '@tapit/protocol';

export const LABEL_TASK_ID = 'tapit.task-id';
export const LABEL_AGENT = 'tapit.agent';
export const LABEL_MAX_HOURS = 'tapit.max-hours';
export const LABEL_STORAGE_GB = 'tapit.ephemeral-storage-gb';
/** On networks the agent creates: the project they keep tasks of. */
export const LABEL_PROJECT = 'tapit.project';

/*
 * Capabilities: all dropped, these added back (Docker's default set also has MKNOD, NET_RAW,
 * SETFCAP, SETPCAP, SYS_CHROOT, AUDIT_WRITE and FSETID). Each is what images starting as root
 * commonly need; docs/security.md (Containers) says why each one.
 */
export const KEPT_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETUID'] as const;
/** Where a read-only task can still write. */
export const WRITABLE_TMP = '/tmp';
/** A console's terminal size when the user's was not sent (a VT100's). */
export const DEFAULT_TTY_SIZE = { cols: 80, rows: 24 } as const;

/** The TTY starts at the size of the terminal the user created the task from. */
export function initialTtySize(spec: Pick<TaskSpec, 'terminal'>): { cols: number; rows: number } {
  return spec.terminal ?? DEFAULT_TTY_SIZE;
}

/** The engine's ConsoleSize: rows first. */
export function consoleSize(size: { cols: number; rows: number }): [number, number] {
  return [size.rows, size.cols];
}

const GIB = 1024 ** 3;

/** Memory in bytes, whole pages, as the kernel would round it anyway. */
export function memoryBytes(memoryGb: number): number {
  return Math.max(4096, Math.floor((memoryGb * GIB) / 4096) * 4096);
}

export interface ContainerContext {
  agentName: string;
  /** The network mode or network the container joins (the project's own on `bridge`). */
  network: string;
  /** Set when the storage driver can enforce a quota. */
  storageQuota: boolean;
  /** The task's PIDs limit. */
  pidsLimit: number;
  /** The image's VOLUME paths. */
  volumes: string[];
}

/**
 * The size of each tmpfs a task gets (its image's VOLUMEs, /tmp when read-only): its storage
 * limit, or its memory limit without one (tmpfs pages count as the task's memory anyway).
 * Whole pages, rounded down, so a full tmpfs alone never exceeds the limit.
 */
export function tmpfsBytes(resources: TaskSpec['resources']): number {
  const bytes = resources.ephemeralStorageGb !== null ? Math.floor(resources.ephemeralStorageGb * GIB) : memoryBytes(resources.memoryGb);
  return Math.max(4096, Math.floor(bytes / 4096) * 4096);
}

/**
 * Mounts that keep writes inside the task's limits: a size-limited tmpfs over each image VOLUME
 * (Docker would otherwise create a volume outside the writable layer, unmeasured and unlimited),
 * and a writable /tmp when the root filesystem is read-only. What the image ships in a VOLUME
 * path is not copied in (a tmpfs starts empty).
 */
export function taskMounts(spec: TaskSpec, volumes: string[]): Docker.MountConfig {
  const targets = new Set(volumes);
  if (spec.readOnly) targets.add(WRITABLE_TMP);
  const size = tmpfsBytes(spec.resources);
  return [...targets].sort().map((target) => ({ Type: 'tmpfs' as const, Source: '', Target: target, TmpfsOptions: { SizeBytes: size, Mode: 0o1777 } }));
}

/** The hardened container for a task: limits from the spec, nothing privileged. */
export function containerOptions(spec: TaskSpec, ctx: ContainerContext): Docker.ContainerCreateOptions {
  const { resources } = spec;
  const memory = memoryBytes(resources.memoryGb);
  const labels: Record<string, string> = { ...spec.labels, [LABEL_TASK_ID]: spec.taskId, [LABEL_AGENT]: ctx.agentName };
  // Limits as labels too, so a task adopted after the state folder was lost is still enforced.
  if (resources.maxHours !== null) labels[LABEL_MAX_HOURS] = String(resources.maxHours);
  if (resources.ephemeralStorageGb !== null) labels[LABEL_STORAGE_GB] = String(resources.ephemeralStorageGb);
  return {
    name: `tapit-${spec.taskId}`,
    Image: spec.image,
    ...(spec.command.length > 0 ? { Cmd: spec.command } : {}),
    ...(spec.entrypoint !== null ? { Entrypoint: spec.entrypoint } : {}),
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: labels,
    // A console: a TTY whose stdin stays open across attaches (StdinOnce false), so users and a
    // restarted agent can come and go. The image's user and entrypoint are kept.
    ...(spec.kind === 'interactive'
      ? { Tty: true, OpenStdin: true, StdinOnce: false, AttachStdin: true, AttachStdout: true, AttachStderr: true }
      : { Tty: false, OpenStdin: false, AttachStdin: false, AttachStdout: false, AttachStderr: false }),
    HostConfig: {
      NanoCpus: Math.round(resources.cpu * 1e9),
      Memory: memory,
      MemorySwap: memory, // equal to Memory: no swap beyond the limit
      PidsLimit: ctx.pidsLimit,
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [...KEPT_CAPABILITIES],
      ReadonlyRootfs: spec.readOnly === true,
      Mounts: taskMounts(spec, ctx.volumes),
      NetworkMode: ctx.network,
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
      // json-file keeps output from the first byte, readable again after an agent restart.
      LogConfig: { Type: 'json-file', Config: { 'max-size': '100m', 'max-file': '5' } },
      // The TTY's size from its first moment. Engines before API 1.42 ignore it (the TTY starts
      // at 0x0 and the driver resizes it right after the start).
      ...(spec.kind === 'interactive' ? { ConsoleSize: consoleSize(initialTtySize(spec)) } : {}),
      ...(ctx.storageQuota && resources.ephemeralStorageGb !== null
        ? { StorageOpt: { size: String(Math.ceil(resources.ephemeralStorageGb * GIB)) } }
        : {}),
    },
  };
}
