import { Args } from '@oclif/core';
import { App, CreateAppRequest, formatLabels } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { stagePath } from '../../lib/context.js';
import { parseRequest, type KeyValueSpec } from '../../lib/key-values.js';
import { formatNumber } from '../../lib/output.js';
import { keyNames, type Completion } from '../../lib/completion.js';

const KEYS: KeyValueSpec = {
  positional: { field: 'name', name: 'app name', required: true },
  keys: {
    image: { field: 'image', type: 'string', required: true },
    cpu: { field: 'cpu', type: 'number' },
    memory: { field: 'memoryGb', type: 'number' },
    max_hours: { field: 'maxHours', type: 'number', nullable: true },
    record_input: { field: 'recordInput', type: 'boolean' },
    constraint: { field: 'constraints', type: 'labels' },
    read_only: { field: 'readOnly', type: 'boolean' },
    log_retention_days: { field: 'logRetentionDays', type: 'number', nullable: true, nullWord: 'default' },
    pull_policy: { field: 'pullPolicy', type: 'string', allowed: 'allowed values are always, missing, never' },
  },
};

export default class CreateApp extends BaseCommand {
  static completion: Completion = { keys: keyNames(KEYS) };
  static summary = 'Create an app; its image becomes release 1, the active one.';
  static description =
    'cpu (vCPUs), memory (GB) and max_hours (or none) are the defaults of its tasks. constraint=KEY=VALUE (repeatable): its tasks run only on agents carrying that label (TAPIT_AGENT_LABELS). record_input=true makes console recordings of its tasks keep what users type (passwords at hidden prompts included); by default they keep output only. read_only=true runs them with a read-only root filesystem (a size-limited /tmp stays writable). log_retention_days=DAYS deletes the logs of its tasks that finished longer ago than that (decimals allowed; the tasks stay); default: the scheduler\'s TAPIT_LOG_RETENTION_DAYS (unset there: kept). pull_policy=always|missing|never: when agents pull its tasks\' images (default missing: only when the engine lacks the image; always: before every task, following a moved tag; never: the image must be there already).';
  static examples = [
    '<%= config.bin %> create app web image=registry.example.com/shop/web:1.4 memory=1 max_hours=2',
    '<%= config.bin %> create app ml image=registry.example.com/shop/ml:3 constraint=region=eu constraint=gpu=true',
    '<%= config.bin %> create app jobs image=registry.example.com/shop/jobs:2 read_only=true',
  ];
  static strict = false;
  static enableJsonFlag = true;
  static args = { name: Args.string({ description: 'App name, then image=IMAGE [cpu=VCPUS] [memory=GB] [max_hours=H|none] [constraint=KEY=VALUE…] [record_input=true|false] [read_only=true|false] [log_retention_days=DAYS|default] [pull_policy=always|missing|never].' }) };

  async run(): Promise<App> {
    const { argv, flags } = await this.parse(CreateApp);
    const body = parseRequest(CreateAppRequest, argv as string[], KEYS);
    const app = await (await this.api()).create(`${stagePath(this.scope(flags))}/apps`, body, App);
    const { cpu, memoryGb, maxHours } = app.defaults;
    this.log(`Created app ${app.name} in ${app.project}/${app.stage}: ${app.image}, release ${app.activeRelease ?? '-'} active`);
    this.log(`Task defaults: ${formatNumber(cpu)} vCPU, ${formatNumber(memoryGb)} GB, max hours ${maxHours === null ? 'none' : formatNumber(maxHours)}`);
    if (app.recordInput) this.log('Console recordings of its tasks keep what users type (record_input=true)');
    if (Object.keys(app.constraints).length > 0) this.log(`Its tasks run on agents with ${formatLabels(app.constraints)}`);
    if (app.readOnly) this.log('Root filesystem: read-only (/tmp writable)');
    if (app.logRetentionDays !== null) this.log(`Logs of its tasks are deleted ${formatNumber(app.logRetentionDays)} days after they finish`);
    if (app.pullPolicy !== 'missing') this.log(`Images of its tasks are pulled: ${app.pullPolicy}`);
    return app;
  }
}
