import { Flags } from '@oclif/core';
import { EnvValue, EnvVarList, UpdateEnvRequest } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { UsageError } from '../../lib/errors.js';
import { parseEnvAssignment } from '../../lib/key-values.js';
import { validateRequest } from '../../lib/validate.js';

export default class SetEnv extends BaseCommand {
  static summary = "Set env vars of an app's tasks; with --secret their values are sealed and never shown back.";
  static description =
    "Each KEY=VALUE sets (or replaces) one var; the app's tasks get them in their container's environment from their next start. A var given to one task (env=KEY=VALUE, task:run -e) wins over the app's. With --secret every var given here is a secret: stored encrypted, listed as •••• with when and by whom it was set, and masked as •••• in the tasks' logs. Names are POSIX (letters, digits, _; not a digit first); a value is at most 32768 characters; an app holds at most 200 vars.";
  static examples = [
    '<%= config.bin %> set env RAILS_ENV=production LOG_LEVEL=info -a web',
    "<%= config.bin %> set env DATABASE_URL='postgres://app:pw@db/shop' --secret -a web",
  ];
  static strict = false;
  static enableJsonFlag = true;
  static flags = {
    secret: Flags.boolean({ summary: 'Keep the values secret: encrypted at rest, never shown back, masked in task logs.' }),
  };

  async run(): Promise<EnvVarList> {
    const { argv, flags } = await this.parse(SetEnv);
    const vars: Record<string, string> = {};
    for (const arg of argv as string[]) {
      if (arg.startsWith('-') && !arg.includes('=')) throw new UsageError(`Unknown flag "${arg}": see --help for the flags this command takes`);
      const [name, value] = parseEnvAssignment(arg, '');
      if (name in vars) throw new UsageError(`${name} given twice`);
      vars[name] = value;
    }
    if (Object.keys(vars).length === 0) throw new UsageError('Give at least one KEY=VALUE, e.g. tapit set env RAILS_ENV=production -a web');
    // A refused value is named by its key only: it may be a secret.
    for (const [name, value] of Object.entries(vars)) {
      const checked = EnvValue.safeParse(value);
      if (!checked.success) throw new UsageError(`Invalid value for ${name}: ${checked.error.issues[0]!.message}`);
    }
    const request = validateRequest(UpdateEnvRequest, { vars, ...(flags.secret ? { secret: true } : {}) }, () => 'env var');
    const app = this.appScope(flags);
    const list = await (await this.api()).patch(`${appPath(app)}/env`, request, EnvVarList);
    this.log(`Set ${Object.keys(vars).join(', ')} on ${app.app}${flags.secret ? ' (secret: the values will not be shown again)' : ''}. Its tasks get them from their next start.`);
    return list;
  }
}
