import { Args, Flags } from '@oclif/core';
import { DeliveryList } from '@tapit/protocol';
import { BaseCommand } from '../../lib/base-command.js';
import { deliveryTable } from '../../lib/delivery-output.js';
import { parseScheduleArg, schedulePath } from '../../lib/schedule-arg.js';

export default class ListDeliveries extends BaseCommand {
  static summary = "List a schedule's alerts, newest first: event, slot, status, and each attempt with the receiver's answer.";
  static description =
    'A delivery is pending until a receiver answers 2xx (delivered), retried with backoff meanwhile, and failed once its retry window has passed. --json adds the body sent and the start of the last answer.';
  static examples = ['<%= config.bin %> list deliveries schedule=9c1b7e2a'];
  static strict = false;
  static enableJsonFlag = true;
  static flags = { limit: Flags.integer({ min: 1, max: 100, default: 20, summary: 'At most this many deliveries (1 to 100; the last 100 are kept).' }) };
  static args = { schedule: Args.string({ description: 'schedule=ID (an id or a unique prefix).' }) };

  async run(): Promise<DeliveryList> {
    const { argv, flags } = await this.parse(ListDeliveries);
    const list = await (await this.api()).get(schedulePath(parseScheduleArg(argv as string[]), '/deliveries'), DeliveryList, { limit: flags.limit });
    this.log(deliveryTable(list.items));
    return list;
  }
}
