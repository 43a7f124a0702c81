import { Args } from '@oclif/core';
import { App, Name, UpdateAppRequest, formatLabels } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { parseNamedRequest, type KeyValueSpec } from '../../lib/key-values.js';

const KEYS = {
  positional: { field: 'name', name: 'app name', required: true },
  keys: { constraint: { field: 'constraints', type: 'labels' } },
} satisfies KeyValueSpec;

export default class UpdateApp extends BaseCommand {
  static summary = 'Change which agents run an app\'s tasks: the labels they must carry.';
  static description = 'constraint=KEY=VALUE (repeatable) replaces the app\'s constraints; constraint=none removes them. Tasks already placed are not moved.';
  static examples = ['<%= config.bin %> update app web constraint=region=eu constraint=gpu=true', '<%= config.bin %> update app web constraint=none'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'App name, then constraint=KEY=VALUE… or constraint=none.' }) };

  async run(): Promise<App> {
    const { argv, flags } = await this.parse(UpdateApp);
    const { name, request } = parseNamedRequest(Name, UpdateAppRequest, argv as string[], KEYS);
    const app = await (await this.api()).patch(appPath({ ...this.scope(flags), app: name }), request, App);
    this.log(`App ${app.name} in ${app.project}/${app.stage}: tasks run on agents with ${formatLabels(app.constraints) || 'any labels'}`);
    return app;
  }
}
