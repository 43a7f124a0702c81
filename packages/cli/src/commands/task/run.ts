import { Flags } from '@oclif/core';
import { CreateTaskRequest, parseLabels, Task, type Labels } from '@tapit/protocol';
import { attachToTask } from '../../lib/attach.js';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { UsageError } from '../../lib/errors.js';
import { DETACH_KEYS_LABEL } from '../../lib/detach-keys.js';
import { runInteractive } from '../../lib/interactive-task.js';
import { formatNumber } from '../../lib/output.js';
import { cpuUnitsToVcpus, mibToGb, parseEntrypoint } from '../../lib/units.js';
import { validateRequest } from '../../lib/validate.js';
import { parseEnvAssignment } from '../../lib/key-values.js';
import { fileFlag, readTaskFiles } from '../../lib/task-files.js';

/** `--constraint region=eu --constraint gpu=true` as labels; a bad one is a usage error. */
function parseConstraintFlags(values: string[]): Labels {
  try {
    return parseLabels(values);
  } catch (error) {
    throw new UsageError(`Bad --constraint: ${(error as Error).message}`);
  }
}

/** `-e A=1 -e B=2` as env vars; a bad or repeated one is a usage error naming it (never its value). */
function parseEnvFlags(values: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const value of values) {
    const [name, assigned] = parseEnvAssignment(value, '--env ');
    if (name in vars) throw new UsageError(`--env gives ${name} twice`);
    vars[name] = assigned;
  }
  return vars;
}

export default class TaskRun extends BaseCommand {
  static summary = 'Run a one-off task and stream its log (SetOps style).';
  static description =
    `Everything after -- is the command and its arguments, run as given (no shell). --cpu is in CPU units (1024 = 1 vCPU), --memory in MiB. Exits with the task's exit code; Ctrl-C detaches and the task goes on. With --interactive the command gets a TTY and your terminal is connected to it (${DETACH_KEYS_LABEL} detaches; tapit task:attach ID reattaches).`;
  static examples = [
    '<%= config.bin %> -a web task:run -- echo "Hello World"',
    '<%= config.bin %> -a web task:run --release 1 --cpu 256 --memory 512 --entrypoint "/bin/bash,-c" -- echo "Hello World"',
    '<%= config.bin %> -a web task:run --detached -- rake db:migrate',
    '<%= config.bin %> -a web task:run --interactive -- bash',
    '<%= config.bin %> -a web task:run --constraint region=eu -- rake reports:eu',
    '<%= config.bin %> -a web task:run -e RAILS_ENV=staging -e DRY_RUN=1 -- rake data:fix',
  ];
  static strict = false;
  static flags = {
    release: Flags.integer({ summary: 'Release number to run (default: the active release).' }),
    cpu: Flags.integer({ summary: 'CPU units, 1024 = 1 vCPU (default: the app\'s).' }),
    memory: Flags.integer({ summary: 'Memory in MiB (default: the app\'s).' }),
    entrypoint: Flags.string({ summary: 'Replace the image entrypoint: a comma-separated list, e.g. "/bin/bash,-c".' }),
    detached: Flags.boolean({ summary: 'Print the task id and return; the task runs in the background.' }),
    interactive: Flags.boolean({ summary: 'Run the command in a TTY and connect this terminal to it (a console: bash, rails console…).' }),
    constraint: Flags.string({ multiple: true, summary: 'Run only on an agent carrying this label, KEY=VALUE (repeatable), besides the app\'s constraints.' }),
    env: Flags.string({ char: 'e', multiple: true, summary: "Set an env var for this task only, KEY=VALUE (repeatable); it wins over the app's. Its value is never shown back." }),
    file: fileFlag,
  };

  async run(): Promise<Task> {
    const { flags, argv } = await this.parse(TaskRun);
    const args = this.commandArgs(argv as string[]);
    const body = {
      args,
      kind: flags.interactive ? 'interactive' : 'background',
      release: flags.release,
      cpu: flags.cpu === undefined ? undefined : cpuUnitsToVcpus(flags.cpu),
      memoryGb: flags.memory === undefined ? undefined : mibToGb(flags.memory),
      entrypoint: flags.entrypoint === undefined ? undefined : parseEntrypoint(flags.entrypoint),
      constraints: flags.constraint === undefined ? undefined : parseConstraintFlags(flags.constraint),
      env: flags.env === undefined ? undefined : parseEnvFlags(flags.env),
      files: readTaskFiles(flags.file),
    };
    const request = validateRequest(CreateTaskRequest, body, (field) => {
      if (field === 'cpu') return `--cpu ${flags.cpu} (${formatNumber(body.cpu ?? 0)} vCPUs)`;
      if (field === 'memoryGb') return `--memory ${flags.memory} (${formatNumber(body.memoryGb ?? 0)} GB)`;
      if (field === 'args' || field === 'command') return 'command';
      if (field === 'constraints') return '--constraint';
      if (field === 'env') return '--env';
      if (field === 'files') return '--file';
      return `--${field}`;
    });
    const client = await this.api();
    if (flags.interactive && !flags.detached) this.exit(await runInteractive(client, this.appScope(flags), request));
    const task = await client.create(`${appPath(this.appScope(flags))}/tasks`, request, Task);
    if (flags.detached) {
      this.log(`ID:   ${task.id}`);
      return task;
    }
    this.exitWith(await attachToTask(client, task));
    return task;
  }

  /**
   * The words after `--`, taken from the raw argv: oclif's parsed argv is re-sorted by first
   * occurrence, which would reorder repeated words (`echo a b a`).
   */
  private commandArgs(parsed: string[]): string[] {
    const dashes = this.argv.indexOf('--');
    const args = dashes === -1 ? parsed : this.argv.slice(dashes + 1);
    if (args.length === 0) throw new UsageError('Missing command: give it after --, e.g. task:run -- echo "Hello World"');
    if (dashes === -1 && args.some((arg) => arg.startsWith('-'))) {
      throw new UsageError(`Unknown flag "${args.find((arg) => arg.startsWith('-'))}": put the command after --, e.g. task:run -- ls -la`);
    }
    return args;
  }
}
