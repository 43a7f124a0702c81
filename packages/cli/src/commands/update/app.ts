import { Args } from '@oclif/core';
import { App, Name, UpdateAppRequest, formatLabels } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { parseNamedRequest, type KeyValueSpec } from '../../lib/key-values.js';
import { formatNumber } from '../../lib/output.js';
import { keyNames, type Completion } from '../../lib/completion.js';

const KEYS = {
  positional: { field: 'name', name: 'app name', required: true },
  keys: {
    constraint: { field: 'constraints', type: 'labels' },
    log_retention_days: { field: 'logRetentionDays', type: 'number', nullable: true, nullWord: 'default' },
    pull_policy: { field: 'pullPolicy', type: 'string', allowed: 'allowed values are always, missing, never' },
  },
} satisfies KeyValueSpec;

export default class UpdateApp extends BaseCommand {
  static completion: Completion = { keys: keyNames(KEYS) };
  static summary = 'Change which agents run an app\'s tasks (the labels they must carry) and how long their logs are kept.';
  static description =
    'constraint=KEY=VALUE (repeatable) replaces the app\'s constraints; constraint=none removes them. Tasks already placed are not moved. log_retention_days=DAYS deletes the logs of its tasks that finished longer ago than that (decimals allowed; the tasks stay); log_retention_days=default follows the scheduler\'s TAPIT_LOG_RETENTION_DAYS again. pull_policy=always|missing|never sets when agents pull its tasks\' images.';
  static examples = [
    '<%= config.bin %> update app web constraint=region=eu constraint=gpu=true',
    '<%= config.bin %> update app web constraint=none',
    '<%= config.bin %> update app web log_retention_days=30',
    '<%= config.bin %> update app web pull_policy=always',
  ];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'App name, then constraint=KEY=VALUE… or constraint=none, log_retention_days=DAYS|default, pull_policy=always|missing|never.' }) };

  async run(): Promise<App> {
    const { argv, flags } = await this.parse(UpdateApp);
    const { name, request } = parseNamedRequest(Name, UpdateAppRequest, argv as string[], KEYS);
    const app = await (await this.api()).patch(appPath({ ...this.scope(flags), app: name }), request, App);
    this.log(`App ${app.name} in ${app.project}/${app.stage}: tasks run on agents with ${formatLabels(app.constraints) || 'any labels'}`);
    this.log(`Images of its tasks are pulled: ${app.pullPolicy}${app.pullPolicy === 'missing' ? ' (when the agent\'s engine lacks them)' : ''}`);
    this.log(`Logs of its tasks: ${app.logRetentionDays === null ? "kept as the scheduler's TAPIT_LOG_RETENTION_DAYS says" : `deleted ${formatNumber(app.logRetentionDays)} days after they finish`}`);
    return app;
  }
}
