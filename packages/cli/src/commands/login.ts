import { Args, Flags } from '@oclif/core';
import { WhoAmI } from '@tapit/protocol';
import { ApiClient } from '../lib/api-client.js';
import { BaseCommand } from '../lib/base-command.js';
import { configPath, writeLogin } from '../lib/config.js';
import { UsageError } from '../lib/errors.js';
import { ask, readStdin } from '../lib/prompt.js';
import { trustedCas } from '../lib/tls-trust.js';

const DEFAULT_URL = 'http://127.0.0.1:7700';

export default class Login extends BaseCommand {
  static summary = 'Store the scheduler URL and an API token for later commands.';
  static description =
    'The token is asked for without echo on a terminal, or read from stdin when stdin is not a terminal (a pipe from a secret store). ' +
    'It is checked with the scheduler first (GET /v1/whoami), then saved, readable by you only, in $XDG_CONFIG_HOME/tapit/config.json (or ~/.config/tapit/config.json). ' +
    'Without a login, commands use TAPIT_URL and TAPIT_TOKEN. Avoid --token: other users of the machine see it in ps, and it stays in your shell history.';
  static examples = [
    '<%= config.bin %> login https://tapit.example.com',
    'pass show tapit/token | <%= config.bin %> login https://tapit.example.com',
  ];
  static enableJsonFlag = true;
  static args = { url: Args.string({ description: `Scheduler URL, e.g. ${DEFAULT_URL} (asked for on a terminal when missing).` }) };
  static flags = {
    url: Flags.string({ summary: 'Scheduler URL, as the argument.' }),
    token: Flags.string({ summary: 'API token. Discouraged: visible in ps and shell history; use the prompt, stdin or TAPIT_TOKEN.' }),
  };

  async run(): Promise<WhoAmI & { url: string }> {
    const { args, flags } = await this.parse(Login);
    const onTerminal = process.stdin.isTTY === true;
    const url = args.url ?? flags.url ?? (onTerminal ? await ask('Scheduler URL', 'URL', { default: process.env.TAPIT_URL || DEFAULT_URL }) : process.env.TAPIT_URL);
    if (url === undefined) throw new UsageError('Missing scheduler URL: give it as tapit login URL');
    if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError(`Invalid URL "${url}": must be an http:// or https:// URL`);
    const token = flags.token ?? (onTerminal ? await ask('API token', '--token', { secret: true }) : firstLine(await readStdin()));
    if (token === '') {
      throw new UsageError('Missing API token: type it at the prompt on a terminal, pipe it on stdin (echo "$TOKEN" | tapit login URL), or skip login and set TAPIT_URL and TAPIT_TOKEN');
    }
    const client = new ApiClient(url, token, { ca: trustedCas(url) });
    const who = await client.get('/v1/whoami', WhoAmI);
    const path = configPath();
    await writeLogin({ url: client.baseUrl, token }, path);
    const scope = who.project === null ? 'all projects' : `project ${who.project}`;
    this.log(`Logged in to ${client.baseUrl} as ${who.name} (${who.role}, ${scope}); saved in ${path}`);
    return { ...who, url: client.baseUrl };
  }
}

/** A token piped in ends with a newline (echo), maybe a carriage return. */
function firstLine(text: string): string {
  return (text.split('\n', 1)[0] ?? '').trim();
}
