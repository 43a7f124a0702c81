import type Docker from 'dockerode';
import { StartError } from '../driver.js';
import { LABEL_AGENT, LABEL_PROJECT } from './container-options.js';
import { engineMessage, isNotFound } from './pull.js';

/** The network mode under which each project gets a network of its own. */
export const SHARED_BRIDGE = 'bridge';

export function projectNetworkName(project: string): string {
  return `tapit-p-${project}`;
}

/** The engine ran out of subnets for new networks (Docker's words, old and new). */
const POOLS_EXHAUSTED = /address pool|fully subnetted/i;

/**
 * On Docker's default bridge every container can reach every other one. With the `bridge`
 * network mode the agent puts each project's tasks on a bridge network of their own
 * (`tapit-p-<project>`), created when a project's first task starts here and kept afterwards
 * (the next task needs it again). Separation between these networks is what Docker's iptables
 * rules give (dockerd's default `--iptables=true`); names resolve only within one.
 *
 * The engine has subnets for a few dozen networks by default: when they run out, this agent's
 * project networks that no container uses are removed and the creation tried again. Creating a
 * network and the container that joins it happen under the project's lock, so such a clean-up
 * never removes a network between the two.
 */
export class ProjectNetworks {
  /** Per network: the work holding it (ensure + container create), in order. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly docker: Docker,
    private readonly agentName: string,
  ) {}

  /** Runs `join` with the project's network in place (created if missing); its result is returned. */
  with<T>(project: string, join: (network: string) => Promise<T>): Promise<T> {
    const name = projectNetworkName(project);
    const run = (this.locks.get(name) ?? Promise.resolve()).then(async () => {
      await this.ensure(name, project);
      return join(name);
    });
    const settled = run.catch(() => undefined);
    this.locks.set(name, settled);
    void settled.then(() => this.locks.get(name) === settled && this.locks.delete(name));
    return run;
  }

  private async ensure(name: string, project: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).inspect();
      return;
    } catch (error) {
      if (!isNotFound(error)) throw new StartError(`the project's network ${name} could not be inspected: ${engineMessage(error)}`);
    }
    try {
      await this.create(name, project);
    } catch (error) {
      if (!POOLS_EXHAUSTED.test(engineMessage(error))) throw this.failed(name, error);
      await this.removeUnused(name);
      await this.create(name, project).catch((again: unknown) => {
        throw this.failed(name, again);
      });
    }
  }

  private async create(name: string, project: string): Promise<void> {
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [LABEL_AGENT]: this.agentName, [LABEL_PROJECT]: project },
      });
    } catch (error) {
      // Created meanwhile by another agent on this engine: use it.
      if ((error as { statusCode?: number }).statusCode !== 409) throw error;
    }
  }

  /**
   * Removes this agent's project networks that no container names (running, created or exited:
   * one created but not yet started must find its network) and no task is joining now.
   */
  private async removeUnused(except: string): Promise<void> {
    const networks = await this.docker.listNetworks({ filters: { label: [`${LABEL_AGENT}=${this.agentName}`] } });
    for (const network of networks) {
      if (network.Name === except || this.locks.has(network.Name)) continue;
      const users = await this.docker.listContainers({ all: true, filters: { network: [network.Name] } }).catch(() => null);
      if (users === null || users.length > 0) continue;
      // Refused if a container joined meanwhile: then it stays, as it should.
      await this.docker.getNetwork(network.Id).remove().catch(() => undefined);
    }
  }

  private failed(name: string, error: unknown): StartError {
    return new StartError(`the project's network ${name} could not be created: ${engineMessage(error)}`);
  }
}
