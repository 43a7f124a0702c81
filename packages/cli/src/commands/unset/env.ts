import { EnvKey, ENV_KEY_RULE, EnvVarList } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { UsageError } from '../../lib/errors.js';

export default class UnsetEnv extends BaseCommand {
  static summary = "Remove env vars (plain or secret) from an app's tasks.";
  static description = 'Tasks already running keep the environment they started with.';
  static examples = ['<%= config.bin %> unset env LOG_LEVEL DATABASE_URL -a web'];
  static strict = false;
  static enableJsonFlag = true;

  async run(): Promise<EnvVarList> {
    const { argv, flags } = await this.parse(UnsetEnv);
    const names = argv as string[];
    if (names.length === 0) throw new UsageError('Give at least one env var name, e.g. tapit unset env LOG_LEVEL -a web');
    for (const name of names) {
      if (name.startsWith('-')) throw new UsageError(`Unknown flag "${name}": see --help for the flags this command takes`);
      if (!EnvKey.safeParse(name).success) throw new UsageError(`Bad env var name ${JSON.stringify(name.slice(0, 100))}: ${ENV_KEY_RULE}`);
    }
    const app = this.appScope(flags);
    const list = await (await this.api()).patch(`${appPath(app)}/env`, { vars: Object.fromEntries(names.map((name) => [name, null])) }, EnvVarList);
    this.log(`Removed ${names.join(', ')} from ${app.app}. Running tasks keep the environment they started with.`);
    return list;
  }
}
