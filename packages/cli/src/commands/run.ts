import { Args } from '@oclif/core';
import { CreateTaskRequest } from '@tapit/protocol';
import { BaseCommand } from '../lib/base-command.js';
import { DETACH_KEYS_LABEL } from '../lib/detach-keys.js';
import { runInteractive } from '../lib/interactive-task.js';
import { parseRequest } from '../lib/key-values.js';
import { RUN_TASK_KEYS } from '../lib/task-keys.js';
import { fileFlag, readTaskFiles } from '../lib/task-files.js';
import { keyNames, type Completion } from '../lib/completion.js';

export default class Run extends BaseCommand {
  static completion: Completion = { keys: keyNames(RUN_TASK_KEYS) };
  static summary = 'Open an interactive console (bash, rails console, python…) in a new container of the app.';
  static description =
    `The command is a shell line (run with /bin/sh -c) in a TTY, as the image's user with its entrypoint. Your terminal is connected to it: every key (Ctrl-C too) goes to the remote program, and the CLI exits with its exit code. ${DETACH_KEYS_LABEL} detaches and leaves the console running; tapit task:attach ID reattaches and replays the recent screen. Keys: memory=GB cpu=VCPUS docker_tag=TAG image=IMAGE release=N max_hours=H (default 24) ephemeral_storage_gb=GB.`;
  static examples = ["<%= config.bin %> run 'bash' -a web", "<%= config.bin %> run 'rails console' memory=2.0 -a web", "<%= config.bin %> run 'sh' image=busybox -a web"];
  static strict = false;
  static args = { command: Args.string({ description: 'The shell command, quoted; then key=value options.' }) };
  static flags = { file: fileFlag };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Run);
    const files = readTaskFiles(flags.file);
    const request = { ...parseRequest(CreateTaskRequest, argv as string[], RUN_TASK_KEYS, { kind: 'interactive' }), ...(files ? { files } : {}) };
    const scope = this.appScope(flags);
    this.exit(await runInteractive(await this.api(), scope, request));
  }
}
