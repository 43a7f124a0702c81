import { Args } from '@oclif/core';
import { COMMANDS } from '../../commands.js';
import { BaseCommand } from '../../lib/base-command.js';
import { bashScript, completionTable, zshScript } from '../../lib/completion.js';

export default class Autocomplete extends BaseCommand {
  static summary = 'Print the shell completion script for bash or zsh.';
  static description =
    'Completes commands and topics, flags, the key=s of each command (memory=, cpu=, … of create task and run) and task ids (asked of the scheduler with tapit list tasks, waiting at most 1.5 s for its answer, nothing shown when it does not answer). bash: add  eval "$(tapit autocomplete bash)"  to ~/.bashrc. zsh: add  eval "$(tapit autocomplete zsh)"  to ~/.zshrc, after compinit.';
  static examples = ['<%= config.bin %> autocomplete bash >> ~/.bashrc', 'eval "$(<%= config.bin %> autocomplete zsh)"'];
  static args = { shell: Args.string({ description: 'The shell.', options: ['bash', 'zsh'], required: true }) };

  async run(): Promise<void> {
    const { args } = await this.parse(Autocomplete);
    // COMMANDS (which lists this file too) is read at run time, when every command is loaded.
    const table = completionTable(COMMANDS);
    process.stdout.write(args.shell === 'zsh' ? zshScript(this.config.bin, table) : bashScript(this.config.bin, table));
  }
}
