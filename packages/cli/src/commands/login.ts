import { Flags } from '@oclif/core';
import { WhoAmI } from '@tapit/protocol';
import { ApiClient } from '../lib/api-client.js';
import { BaseCommand } from '../lib/base-command.js';
import { configPath, writeLogin } from '../lib/config.js';
import { UsageError } from '../lib/errors.js';
import { ask } from '../lib/prompt.js';

export default class Login extends BaseCommand {
  static summary = 'Store the scheduler URL and an API token for later commands.';
  static description = 'Checks them with the scheduler first (GET /v1/whoami), then saves them, readable by you only, in $XDG_CONFIG_HOME/tapit/config.json (or ~/.config/tapit/config.json).';
  static examples = ['<%= config.bin %> login --url http://127.0.0.1:7700 --token $TOKEN'];
  static enableJsonFlag = true;
  static flags = {
    url: Flags.string({ summary: 'Scheduler URL, e.g. http://127.0.0.1:7700 (asked for when missing).' }),
    token: Flags.string({ summary: 'API token (asked for when missing, without echo).' }),
  };

  async run(): Promise<WhoAmI & { url: string }> {
    const { flags } = await this.parse(Login);
    const url = flags.url ?? (await ask('Scheduler URL', '--url', { default: process.env.TAPIT_URL || 'http://127.0.0.1:7700' }));
    if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`Invalid --url "${url}": must be an http:// or https:// URL`);
    const token = flags.token ?? (await ask('API token', '--token', { secret: true }));
    if (token === '') throw new UsageError('Missing --token: an API token is required');
    const client = new ApiClient(url, token);
    const who = await client.get('/v1/whoami', WhoAmI);
    const path = configPath();
    await writeLogin({ url: client.baseUrl, token }, path);
    const scope = who.project === null ? 'all projects' : `project ${who.project}`;
    this.log(`Logged in to ${client.baseUrl} as ${who.name} (${who.role}, ${scope}); saved in ${path}`);
    return { ...who, url: client.baseUrl };
  }
}
