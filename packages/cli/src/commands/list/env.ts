import { EnvVarList, SECRET_MASK } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { formatTimestamp, table } from '../../lib/output.js';
import { escapeControlCharacters } from '../../lib/control-characters.js';

export default class ListEnv extends BaseCommand {
  static summary = "List an app's env vars: plain values, and secrets as •••• with when and by whom they were set.";
  static enableJsonFlag = true;

  async run(): Promise<EnvVarList> {
    const { flags } = await this.parse(ListEnv);
    const app = this.appScope(flags);
    const list = await (await this.api()).get(`${appPath(app)}/env`, EnvVarList);
    if (list.items.length === 0) this.log(`No env vars on ${app.app}.`);
    else
      this.log(
        table(
          ['KEY', 'VALUE', 'SET', 'BY'],
          list.items.map((v) => [v.key, v.secret ? `${SECRET_MASK} (secret)` : escapeControlCharacters(v.value ?? ''), formatTimestamp(v.setAt), v.setBy]),
        ),
      );
    return list;
  }
}
