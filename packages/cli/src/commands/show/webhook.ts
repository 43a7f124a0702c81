import { Args } from '@oclif/core';
import { Webhook } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { details, formatTimestamp } from '../../lib/output.js';
import { webhookTarget } from '../../lib/webhook-target.js';

export default class ShowWebhook extends BaseCommand {
  static summary = "Show a schedule's own webhook, or an app's default one (never its secret).";
  static examples = ['<%= config.bin %> show webhook -a web', '<%= config.bin %> show webhook schedule=9c1b7e2a'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { schedule: Args.string({ description: '[schedule=ID]; without it, the app of -a.' }) };

  async run(): Promise<Webhook> {
    const { argv, flags } = await this.parse(ShowWebhook);
    const target = webhookTarget(argv as string[], () => this.appScope(flags, ', or schedule=ID'));
    const webhook = await (await this.api()).get(target.path, Webhook);
    this.log(details([['Webhook of', target.what], ['URL', webhook.url], ['Set by', webhook.setBy], ['Set at', `${formatTimestamp(webhook.setAt)} UTC`], ['Secret', 'shown only when it was set']]));
    return webhook;
  }
}
