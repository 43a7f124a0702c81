import { Args } from '@oclif/core';
import { BaseCommand } from '../../lib/base-command.js';
import { webhookTarget } from '../../lib/webhook-target.js';

export default class UnsetWebhook extends BaseCommand {
  static summary = "Remove a schedule's webhook (its app's then applies) or an app's default webhook.";
  static description = 'Deliveries still waiting go to whichever webhook applies when they are sent; with none, they are given up.';
  static examples = ['<%= config.bin %> unset webhook -a web', '<%= config.bin %> unset webhook schedule=9c1b7e2a'];
  static strict = false;
  static args = { schedule: Args.string({ description: '[schedule=ID]; without it, the app of -a.' }) };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(UnsetWebhook);
    const target = webhookTarget(argv as string[], () => this.appScope(flags, ', or schedule=ID'));
    await (await this.api()).delete(target.path);
    this.log(`Removed the webhook of ${target.what}: ${target.kind === 'schedule' ? "its alerts go to its app's webhook, if the app has one" : 'its schedules without a webhook of their own send no alerts'}.`);
  }
}
