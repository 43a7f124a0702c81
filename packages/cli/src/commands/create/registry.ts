import { Args } from '@oclif/core';
import { Registry, RegistryHost, SetRegistryRequest } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { projectPath } from '../../lib/context.js';
import { labelFor, parseKeyValues, type KeyValueSpec } from '../../lib/key-values.js';
import { ask, readStdin } from '../../lib/prompt.js';
import { validateRequest } from '../../lib/validate.js';
import { keyNames, type Completion } from '../../lib/completion.js';

const KEYS = {
  positional: { field: 'host', name: 'registry host', required: true },
  keys: {
    username: { field: 'username', type: 'string', required: true },
    password: { field: 'password', type: 'string' },
  },
} satisfies KeyValueSpec;

export default class CreateRegistry extends BaseCommand {
  static completion: Completion = { keys: keyNames(KEYS) };
  static summary = "Set the project's credentials for a private registry: its tasks' images from that host are pulled with them.";
  static description =
    'HOST is the registry as image names carry it: ghcr.io, registry.example.com:5000, or docker.io for Docker Hub. Setting it again replaces the credentials. The password is sealed at rest, sent only to the agent that pulls (in memory) and never shown again. Without password=, it is asked for on a terminal or read from stdin (keeping it out of shell history and ps).';
  static examples = [
    "printf '%s' \"$GHCR_TOKEN\" | <%= config.bin %> create registry ghcr.io username=acme-ci",
    '<%= config.bin %> create registry registry.example.com:5000 username=deploy -p shop',
  ];
  static strict = false;
  static enableJsonFlag = true;
  static args = { host: Args.string({ description: 'Registry host[:port], then username=NAME [password=PASSWORD].' }) };

  async run(): Promise<Registry> {
    const { argv, flags } = await this.parse(CreateRegistry);
    const { body, typed } = parseKeyValues(argv as string[], KEYS);
    const host = validateRequest(RegistryHost, body.host, () => 'registry host');
    const password = body.password ?? (process.stdin.isTTY ? await ask('Password', 'password=') : (await readStdin()).replace(/\r?\n$/, ''));
    const request = validateRequest(SetRegistryRequest, { username: body.username, password }, (field) => labelFor(field, KEYS, typed));
    const scope = this.scope(flags);
    const registry = await (await this.api()).put(`${projectPath(scope)}/registries/${encodeURIComponent(host)}`, request, Registry);
    this.log(`Tasks of project ${registry.project} pull images from ${registry.host} as ${registry.username}`);
    return registry;
  }
}
