import { Args } from '@oclif/core';
import { CreatedWebhook, SetWebhookRequest } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { parseKeyValues, labelFor, type KeyValueSpec } from '../../lib/key-values.js';
import { validateRequest } from '../../lib/validate.js';
import { webhookTarget } from '../../lib/webhook-target.js';
import { keyNames, type Completion } from '../../lib/completion.js';

const KEYS = {
  positional: { field: 'url', name: 'webhook URL', required: true },
  keys: { schedule: { field: 'schedule', type: 'string' } },
} satisfies KeyValueSpec;

export default class SetWebhook extends BaseCommand {
  static completion: Completion = { keys: keyNames(KEYS) };
  static summary = "Set where a schedule's alerts go, or an app's default for its schedules; the signing secret is shown only this once.";
  static description =
    "Alerts (a failed run, a skipped or missed slot, the first success after failures) are POSTed as JSON signed with HMAC-SHA256 in the Tapit-Signature header (docs/schedules.md, Alerts). With schedule=ID the schedule's own webhook; without, the app's (-a), used by its schedules that have none. Setting it again replaces the URL and makes a new secret.";
  static examples = ['<%= config.bin %> set webhook https://alerts.example.com/tapit -a web', '<%= config.bin %> set webhook https://alerts.example.com/nightly schedule=9c1b7e2a'];
  static strict = false;
  static enableJsonFlag = true;
  static args = { url: Args.string({ description: 'The http:// or https:// URL, then [schedule=ID].' }) };

  async run(): Promise<CreatedWebhook> {
    const { argv, flags } = await this.parse(SetWebhook);
    const { body, typed } = parseKeyValues(argv as string[], KEYS);
    const request = validateRequest(SetWebhookRequest, { url: body.url }, (field) => labelFor(field, KEYS, typed));
    const target = webhookTarget(body.schedule === undefined ? [] : [`schedule=${String(body.schedule)}`], () => this.appScope(flags, ', or schedule=ID'));
    const created = await (await this.api()).put(target.path, request, CreatedWebhook);
    this.log(`Alerts of ${target.what} go to ${created.url}${target.kind === 'app' ? ' (unless a schedule has a webhook of its own)' : ''}.`);
    this.log('Its signing secret, shown only this once (it will not be shown again; set the webhook again for a new one):');
    this.log(created.secret);
    return created;
  }
}
