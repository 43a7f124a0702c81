import { Args } from '@oclif/core';
import { RegistryHost } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { projectPath } from '../../lib/context.js';
import { UsageError } from '../../lib/errors.js';
import { validateRequest } from '../../lib/validate.js';

export default class DeleteRegistry extends BaseCommand {
  static summary = "Remove the project's credentials for a registry: its images are pulled without them again.";
  static examples = ['<%= config.bin %> delete registry ghcr.io -p shop'];
  static args = { host: Args.string({ description: 'Registry host[:port].' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(DeleteRegistry);
    if (args.host === undefined) throw new UsageError('Missing registry host: tapit delete registry HOST');
    const host = validateRequest(RegistryHost, args.host, () => 'registry host');
    const scope = this.scope(flags);
    await (await this.api()).delete(`${projectPath(scope)}/registries/${encodeURIComponent(host)}`);
    this.log(`Removed the credentials of project ${scope.project} for ${host}`);
  }
}
