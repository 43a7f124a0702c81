import { BaseCommand } from '../../lib/base-command.js';
import { listTasks } from '../../lib/task-list.js';

/** How long a TAB may wait for the scheduler before completing without ids. */
const ANSWER_WITHIN_MS = 1500;

export default class AutocompleteTaskIds extends BaseCommand {
  static summary = "The stage's newest task ids, one a line, for the completion scripts; prints nothing on any failure.";
  static hidden = true;

  async run(): Promise<void> {
    const { flags } = await this.parse(AutocompleteTaskIds);
    // A TAB must never hang nor print an error into the user's line: give up quietly. This is
    // the only bound (the scripts use no timeout(1): macOS has none); starting Node cannot hang.
    setTimeout(() => process.exit(0), ANSWER_WITHIN_MS).unref();
    try {
      const list = await listTasks(await this.api(), { ...this.scope(flags), app: undefined }, undefined, 100);
      process.stdout.write(list.items.map((task) => `${task.id}\n`).join(''));
    } catch {
      // Not logged in, the scheduler away, a refused token: no ids to offer.
    }
  }
}
