import { Args, Flags } from '@oclif/core';
import { CreateTaskRequest, Task } from '@tapit/protocol';
import { attachToTask } from '../../lib/attach.js';
import { BaseCommand } from '../../lib/base-command.js';
import { appPath } from '../../lib/context.js';
import { parseRequest } from '../../lib/key-values.js';
import { CREATE_TASK_KEYS } from '../../lib/task-keys.js';
import { fileFlag, readTaskFiles } from '../../lib/task-files.js';
import { takeKeep } from '../../lib/copy-out.js';
import { keyNames, type Completion } from '../../lib/completion.js';

export default class CreateTask extends BaseCommand {
  static completion: Completion = { keys: keyNames(CREATE_TASK_KEYS, 'keep') };
  static summary = 'Run a command once, in a new container of the app, in the background.';
  static description =
    'The command is a shell line (run with /bin/sh -c). Keys: memory=GB cpu=VCPUS docker_tag=TAG image=IMAGE release=N max_hours=H initiated_by=NAME ephemeral_storage_gb=GB constraint=KEY=VALUE (repeatable: run only on an agent carrying that label, besides the app\'s constraints) env=KEY=VALUE (repeatable: an env var for this task only, over the app\'s; its value is never shown back) keep=DURATION (keep the container that long after the end, at most 7d, so tapit cp can copy from it); unset ones come from the app. With --wait the log is streamed and the CLI exits with the task\'s exit code; Ctrl-C detaches and the task goes on.';
  static examples = [
    "<%= config.bin %> create task 'rails db:migrate' -a web",
    "<%= config.bin %> create task 'python scripts/process_data.py' memory=4.0 cpu=2.0 -a web",
    "<%= config.bin %> create task 'bundle exec rake data:import' --wait -a web",
    "<%= config.bin %> create task 'ruby /app/fix.rb' --file ./fix.rb:/app/fix.rb -a web",
    "<%= config.bin %> create task 'bin/export > /tmp/export.csv' keep=1h --wait -a web && tapit cp ID:/tmp/export.csv .",
  ];
  static strict = false;
  static enableJsonFlag = true;
  static args = { command: Args.string({ description: 'The shell command, quoted; then key=value options.' }) };
  static flags = {
    wait: Flags.boolean({ char: 'w', summary: "Stream the log until the task ends and exit with its exit code.", exclusive: ['json'] }),
    file: fileFlag,
  };

  async run(): Promise<Task> {
    const { argv, flags } = await this.parse(CreateTask);
    const files = readTaskFiles(flags.file);
    const { keepSeconds, rest } = takeKeep(argv as string[]);
    const body = { ...parseRequest(CreateTaskRequest, rest, CREATE_TASK_KEYS, { kind: 'background' }), ...(files ? { files } : {}), ...(keepSeconds ? { keepSeconds } : {}) };
    const client = await this.api();
    const task = await client.create(`${appPath(this.appScope(flags))}/tasks`, body, Task);
    if (flags.wait) {
      this.exitWith(await attachToTask(client, task));
      return task;
    }
    this.log(`ID:     ${task.id}`);
    this.log(`Status: ${task.status}, desired status ${task.desiredStatus}`);
    this.log(`Follow its log with: ${this.config.bin} show logs task=${task.id} --follow`);
    return task;
  }
}
