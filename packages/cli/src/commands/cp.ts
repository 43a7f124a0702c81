import { Args } from '@oclif/core';
import { BaseCommand } from '../lib/base-command.js';
import { copyOut, parseCopyArgs } from '../lib/copy-out.js';

export default class Cp extends BaseCommand {
  static summary = "Copy a file out of a task's container (a data export).";
  static description =
    "From a RUNNING task, or a stopped one whose container is kept (created with keep=DURATION). One regular file, byte for byte, with its mode; a directory is refused (archive it in the task first, then copy the archive). At most the scheduler's TAPIT_COPY_MAX_BYTES (256 MiB unless set). Written to a hidden file first and renamed into place once whole: a cut copy leaves nothing. Copying into a task is done when it is created: tapit create task CMD --file LOCAL:/PATH.";
  static examples = ['<%= config.bin %> cp 55a9b03b:/app/export.csv ./export.csv', '<%= config.bin %> cp 55a9b03b:/tmp/report.pdf .'];
  static args = {
    source: Args.string({ description: 'TASK:/PATH: a task id (or unique prefix) and an absolute path in its container.' }),
    target: Args.string({ description: 'The local file to write, or a folder to write it into.' }),
  };

  async run(): Promise<void> {
    const { args } = await this.parse(Cp);
    const { task, path, local } = parseCopyArgs(args.source, args.target);
    const { file, bytes } = await copyOut(await this.api(), task, path, local);
    this.log(`Copied ${bytes} bytes from ${task}:${path} to ${file}`);
  }
}
