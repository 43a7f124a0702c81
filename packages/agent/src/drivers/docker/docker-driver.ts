import type Docker from 'dockerode';
import type { Capacity, TaskSpec } from '@tapit/protocol';
import { CopyError, StartError, type AdoptableTask, type CopiedFile, type DriverTask, type MemoryOnly, type StartHooks, type TaskDriver, type TaskHandle } from '../driver.js';
import { containerOptions, type ContainerContext, initialTtySize, LABEL_AGENT, LABEL_MAX_HOURS, LABEL_STORAGE_GB, LABEL_TASK_ID } from './container-options.js';
import { DockerTask, type DockerHandle, type FreshStart } from './docker-task.js';
import { DockerTerminal } from './docker-terminal.js';
import { DockerEngineWatch, withoutKeepAlive } from './engine-watch.js';
import { EngineClock } from './engine-clock.js';
import { engineClient } from './engine-client.js';
import { pidBudget, type PidBudget } from './pid-budget.js';
import { ProjectNetworks, SHARED_BRIDGE } from './project-networks.js';
import { KnownImages } from './known-images.js';
import { engineMessage, ensureImage, isNotFound } from './pull.js';
import { TarFileReader, tarOfFiles } from './tar-archive.js';
import { pipeline } from 'node:stream';
import type { IncomingMessage } from 'node:http';

/** Each task's PIDs limit unless configured (TAPIT_AGENT_TASK_PIDS). */
export const DEFAULT_PIDS_PER_TASK = 1024;

export interface DockerDriverOptions {
  agentName: string;
  /** Docker network mode of task containers; `bridge` means a network per project. */
  network: string;
  /** Each task's PIDs limit (lowered to fit the host's pid_max). */
  pidsPerTask?: number | undefined;
  /** The host's pid_max, read from /proc unless given (tests). */
  pidMax?: number | undefined;
  /** Overrides of what the engine reports. */
  cpu?: number | undefined;
  memoryGb?: number | undefined;
  /** Defaults to DOCKER_HOST as Docker defines it (unix:// or tcp://). */
  docker?: Docker;
  /** How often the engine is pinged while it answers (default 2000 ms). */
  engineCheckMs?: number;
}

/** Runs tasks as Docker containers through dockerode (the only place that imports it). */
export class DockerDriver implements TaskDriver {
  readonly name = 'docker';
  readonly capabilities = { tty: true, exec: true, storageQuota: false };
  readonly health: DockerEngineWatch;
  readonly pids: PidBudget;
  private readonly docker: Docker;
  private readonly networks: ProjectNetworks;
  private infoLoaded: Promise<void> | null = null;
  private engineCapacity: Capacity = { cpu: 1, memoryGb: 1 };
  private readonly clock: EngineClock;
  private readonly knownImages = new KnownImages();

  constructor(private readonly options: DockerDriverOptions) {
    this.docker = withoutKeepAlive(engineClient(options.docker));
    this.health = new DockerEngineWatch(this.docker, options.engineCheckMs ?? 2000);
    this.clock = new EngineClock(this.docker);
    this.networks = new ProjectNetworks(this.docker, options.agentName);
    this.pids = pidBudget(options.pidsPerTask ?? DEFAULT_PIDS_PER_TASK, options.pidMax);
  }

  async capacity(): Promise<Capacity> {
    await this.loadInfo();
    return { cpu: this.options.cpu ?? this.engineCapacity.cpu, memoryGb: this.options.memoryGb ?? this.engineCapacity.memoryGb, maxTasks: this.pids.maxTasks };
  }

  maxTasks(): number {
    return this.pids.maxTasks;
  }

  start(spec: TaskSpec, hooks: StartHooks, memoryOnly: MemoryOnly = {}): Promise<DriverTask> {
    return this.startFrom(spec, hooks, memoryOnly, false);
  }

  /** `start`; `afresh`: again, from the image as the engine has it now (the facts it had were out of date). */
  private async startFrom(spec: TaskSpec, hooks: StartHooks, memoryOnly: MemoryOnly, afresh: boolean): Promise<DriverTask> {
    const policy = spec.pullPolicy ?? 'missing';
    // An image started from before is not inspected again first (its reference was checked then):
    // the created container names the image it got, and that is checked against what was known.
    // (`startAfresh` forgot the reference's facts first.)
    const known = policy === 'always' ? undefined : this.knownImages.get(spec.image);
    // Otherwise the image reference is checked first of all, before the engine hears of the task.
    const image = known ?? (await ensureImage(this.docker, spec.image, hooks.onSystemLine, { policy, auth: memoryOnly.pullAuth }));
    await this.loadInfo();
    await this.clock.fresh();
    const digest = image.digest;
    const ctx = (network: string): ContainerContext => ({
      agentName: this.options.agentName,
      network,
      storageQuota: this.capabilities.storageQuota,
      pidsLimit: this.pids.pidsPerTask,
      volumes: image.volumes,
    });
    let container: Docker.Container;
    try {
      // On `bridge`, the project's own network: tasks of other projects cannot reach it.
      container =
        this.options.network === SHARED_BRIDGE && spec.project
          ? await this.networks.with(spec.project, (network) => this.create(spec, ctx(network)))
          : await this.create(spec, ctx(this.options.network));
    } catch (error) {
      if (error instanceof StartError) throw error;
      // A known image removed since: found (or pulled, or refused) as the pull policy says.
      if (known && isNotFound(error) && /no such image/i.test(engineMessage(error))) return this.startAfresh(spec, hooks, memoryOnly);
      // The name is the task id: a conflict means an earlier attempt created it; carry on with it.
      if ((error as { statusCode?: number }).statusCode !== 409) throw new StartError(engineMessage(error));
      container = this.docker.getContainer(`tapit-${spec.taskId}`);
    }
    const info = await container.inspect();
    const notStarted = !info.State.Running && dockerTimeUnset(info.State.StartedAt);
    // Made from facts of another image than its reference names now (a known reference moved
    // since, by a pull or a `docker tag`, or one moved between the image's inspect and the
    // create): its VOLUMEs may differ, so it is made again, once, from the image as it is now. It
    // must be gone first: a second create would find it by its name and carry on with it.
    if (notStarted && image.id !== null && info.Image !== image.id && !afresh) {
      try {
        await container.remove({ force: true, v: true });
      } catch (error) {
        if (!isNotFound(error)) throw new StartError(engineMessage(error));
      }
      return this.startAfresh(spec, hooks, memoryOnly);
    }
    if (image.id !== null && info.Image === image.id) this.knownImages.remember(spec.image, image);
    else this.knownImages.forget(spec.image);
    // The task's files before its handle is saved: a created container the agent finds again holds them.
    if (notStarted && spec.files?.length) await this.writeFiles(container, spec);
    const handle: DockerHandle = { driver: 'docker', version: 1, containerId: info.Id };
    hooks.onCreated(handle, digest);
    // A console's TTY is attached before the start, so not a byte of its screen is missed.
    let terminal: DockerTerminal | null = null;
    if (info.Config.Tty && (info.State.Running || dockerTimeUnset(info.State.StartedAt))) {
      try {
        terminal = await DockerTerminal.attach(container, this.toEngine);
      } catch (error) {
        await container.remove({ force: true }).catch(() => undefined);
        throw new StartError(`attaching to the console failed: ${engineMessage(error)}`);
      }
    }
    let fresh: FreshStart | null = null;
    if (!info.State.Running && dockerTimeUnset(info.State.StartedAt)) {
      // Taken before the call: a task's RUNNING time is never after its engine's start (a short
      // task's end, clamped to its latest event, would be moved later).
      const startedAt = new Date().toISOString();
      try {
        await container.start();
      } catch (error) {
        terminal?.release();
        await container.remove({ force: true }).catch(() => undefined);
        throw new StartError(engineMessage(error));
      }
      fresh = { startedAt, tty: info.Config.Tty === true };
      // Where the engine ignored ConsoleSize the TTY starts at 0x0: give it a size at once.
      if (terminal) await terminal.resize(initialTtySize(spec)).catch(() => undefined);
    }
    return new DockerTask(this.docker, handle, this.health, this.clock, terminal, fresh);
  }

  /** `start` once more, from the image as the engine has it now, not as it was known. */
  private startAfresh(spec: TaskSpec, hooks: StartHooks, memoryOnly: MemoryOnly): Promise<DriverTask> {
    this.knownImages.forget(spec.image);
    return this.startFrom(spec, hooks, memoryOnly, true);
  }

  private readonly toEngine = (agentTime: string) => this.clock.toEngine(agentTime);

  /** Copies the task's files in (parent folders made by the engine, root's, with their modes); a failure fails the start. */
  private async writeFiles(container: Docker.Container, spec: TaskSpec): Promise<void> {
    const files = (spec.files ?? []).map((file) => ({ name: file.path.slice(1), mode: file.mode, content: Buffer.from(file.content, 'base64') }));
    try {
      // The engine answers once the archive is extracted.
      await container.putArchive(tarOfFiles(files), { path: '/' });
    } catch (error) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      const names = files.map((f) => `/${f.name}`).join(', ');
      throw new StartError(`writing the task's files (${names.length > 1000 ? `${names.slice(0, 1000)}…` : names}) failed: ${engineMessage(error)}`);
    }
  }

  private async create(spec: TaskSpec, ctx: ContainerContext): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer(containerOptions(spec, ctx));
    } catch (error) {
      // xfs without the pquota mount option refuses `size`: measure instead from now on.
      if (!ctx.storageQuota || !/storage-opt|quota/i.test(engineMessage(error))) throw error;
      this.capabilities.storageQuota = false;
      return this.docker.createContainer(containerOptions(spec, { ...ctx, storageQuota: false }));
    }
  }

  async recover(handle: TaskHandle): Promise<DriverTask | null> {
    if (handle.driver !== 'docker' || typeof handle.containerId !== 'string') return null;
    const container = this.docker.getContainer(handle.containerId);
    await this.clock.fresh();
    let terminal: DockerTerminal | null = null;
    try {
      const info = await container.inspect();
      // A console lives on: take its TTY again (its stdin stayed open, StdinOnce is false).
      // If that fails (it just ended), the task is still recovered, without a console.
      if (info.Config.Tty && (info.State.Running || info.State.Status === 'created')) terminal = await DockerTerminal.attach(container, this.toEngine).catch(() => null);
      // Created but never started: the agent died in between; start it now, as assigned. If it
      // cannot start, that is this task's failure to start, as it would have been the first time.
      if (info.State.Status === 'created') {
        try {
          await container.start();
        } catch (error) {
          terminal?.release();
          await container.remove({ force: true, v: true }).catch(() => undefined);
          throw new StartError(engineMessage(error));
        }
      }
    } catch (error) {
      if (error instanceof StartError) throw error;
      terminal?.release();
      if (isNotFound(error)) return null;
      throw error;
    }
    return new DockerTask(this.docker, handle as DockerHandle, this.health, this.clock, terminal);
  }

  async copyFile(handle: TaskHandle, path: string, maxBytes: number): Promise<CopiedFile> {
    const container = this.docker.getContainer(String(handle.containerId));
    let archive: IncomingMessage;
    try {
      archive = (await container.getArchive({ path })) as unknown as IncomingMessage;
    } catch (error) {
      const message = engineMessage(error);
      if (isNotFound(error) && /no such container/i.test(message)) throw new CopyError('CONTAINER_GONE', `the task's container is gone (${message})`);
      if (isNotFound(error)) throw new CopyError('NOT_FOUND', `no such file in the task's container: ${path}`);
      throw new CopyError('FAILED', `reading ${path} failed: ${message}`);
    }
    // The engine says what the path is in a header, before a byte of the archive is read.
    const stat = parseStat(archive.headers['x-docker-container-path-stat']);
    const refuse = (error: CopyError) => {
      archive.destroy();
      throw error;
    };
    if (!stat) return refuse(new CopyError('FAILED', `the engine did not say what ${path} is`));
    if (stat.mode & GO_MODE_DIR) return refuse(new CopyError('IS_DIRECTORY', `${path} is a directory: tapit cp copies one file (copy a tar of it: create an archive in the task first)`));
    if (stat.mode & GO_MODE_TYPE) return refuse(new CopyError('NOT_A_FILE', `${path} is not a regular file (a link, device, pipe or socket)`));
    if (stat.size > maxBytes) return refuse(new CopyError('TOO_LARGE', `${path} holds ${stat.size} bytes; a copy may hold at most ${maxBytes} bytes (TAPIT_COPY_MAX_BYTES)`));
    const reader = new TarFileReader();
    pipeline(archive, reader, () => undefined);
    return { size: stat.size, mode: stat.mode & 0o7777, bytes: reader };
  }

  async removeContainer(handle: TaskHandle): Promise<void> {
    try {
      await this.docker.getContainer(String(handle.containerId)).remove({ force: true, v: true });
    } catch (error) {
      if (!isNotFound(error)) throw new Error(engineMessage(error));
    }
  }

  async listOwned(): Promise<AdoptableTask[]> {
    const list = await this.docker.listContainers({ all: true, filters: { label: [`${LABEL_AGENT}=${this.options.agentName}`] } });
    return list
      .filter((c) => /^[0-9a-f]{32}$/.test(c.Labels[LABEL_TASK_ID] ?? ''))
      .map((c) => ({
        taskId: c.Labels[LABEL_TASK_ID]!,
        handle: { driver: 'docker', version: 1, containerId: c.Id },
        limits: { maxHours: numberLabel(c.Labels[LABEL_MAX_HOURS]), ephemeralStorageGb: numberLabel(c.Labels[LABEL_STORAGE_GB]) },
      }));
  }

  private loadInfo(): Promise<void> {
    this.infoLoaded ??= this.docker.info().then((info: { NCPU?: number; MemTotal?: number; Driver?: string; DriverStatus?: [string, string][] }) => {
      this.engineCapacity = { cpu: info.NCPU ?? 1, memoryGb: Math.round(((info.MemTotal ?? 1024 ** 3) / 1024 ** 3) * 100) / 100 };
      const backing = info.DriverStatus?.find(([k]) => k === 'Backing Filesystem')?.[1];
      // overlay2 enforces `size` only on xfs mounted with pquota; elsewhere the runner measures.
      this.capabilities.storageQuota = info.Driver === 'overlay2' && backing === 'xfs';
    });
    this.infoLoaded.catch(() => (this.infoLoaded = null));
    return this.infoLoaded;
  }
}

/** Go's os.FileMode bits in the engine's path stat: a directory, and every kind that is not a regular file. */
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_TYPE = (2 ** 31 + 2 ** 27 + 2 ** 26 + 2 ** 25 + 2 ** 24 + 2 ** 21 + 2 ** 19) >>> 0;

/** `X-Docker-Container-Path-Stat`: base64 of `{"name","size","mode","mtime","linkTarget"}`. */
function parseStat(header: string | string[] | undefined): { size: number; mode: number } | null {
  if (typeof header !== 'string') return null;
  try {
    const stat = JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as { size?: unknown; mode?: unknown };
    return typeof stat.size === 'number' && typeof stat.mode === 'number' ? { size: stat.size, mode: stat.mode >>> 0 } : null;
  } catch {
    return null;
  }
}

function dockerTimeUnset(value: string | undefined): boolean {
  return !value || value.startsWith('0001-01-01');
}

function numberLabel(value: string | undefined): number | null {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : null;
}
