import type Docker from 'dockerode';
import { LABEL_AGENT, LABEL_PROJECT } from './container-options.js';
import { engineMessage, isNotFound } from './pull.js';

/** The network mode under which each project gets a network of its own. */
export const SHARED_BRIDGE = 'bridge';

export function projectNetworkName(project: string): string {
  return `tapit-p-${project}`;
}

/**
 * On Docker's default bridge every container can reach every other one. With the `bridge`
 * network mode the agent puts each project's tasks on a bridge network of their own
 * (`tapit-p-<project>`), created when a project's first task starts here and kept afterwards
 * (cheap, and the next task needs it again). Separation between these networks is what Docker's
 * iptables rules give (dockerd's default `--iptables=true`); names resolve only within one.
 */
export class ProjectNetworks {
  /** Creations in flight, so two tasks of one project starting together create it once. */
  private readonly creating = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Docker,
    private readonly agentName: string,
  ) {}

  /** The network a task of `project` joins, created if missing. */
  async ensure(project: string): Promise<string> {
    const name = projectNetworkName(project);
    let pending = this.creating.get(name);
    if (!pending) {
      pending = this.create(name, project).finally(() => this.creating.delete(name));
      this.creating.set(name, pending);
    }
    await pending;
    return name;
  }

  private async create(name: string, project: string): Promise<void> {
    try {
      await this.docker.getNetwork(name).inspect();
      return;
    } catch (error) {
      if (!isNotFound(error)) throw new Error(`inspecting network ${name}: ${engineMessage(error)}`);
    }
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: 'bridge',
        CheckDuplicate: true,
        Labels: { [LABEL_AGENT]: this.agentName, [LABEL_PROJECT]: project },
      });
    } catch (error) {
      // Created meanwhile by another agent on this engine: use it.
      if ((error as { statusCode?: number }).statusCode !== 409) throw new Error(`creating network ${name}: ${engineMessage(error)}`);
    }
  }
}
