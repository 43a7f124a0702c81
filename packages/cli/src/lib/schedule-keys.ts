import { ConcurrencyPolicy, CreateScheduleRequest, MAX_SCHEDULE_RETRIES, MissedRunPolicy } from '@tapit/protocol';
import type { KeyValueSpec } from './key-values.js';
import { CREATE_TASK_KEYS } from './task-keys.js';

/** The protocol's own bounds, so the message cannot drift from what the schema checks. */
const STARTING_DEADLINE = CreateScheduleRequest.shape.startingDeadlineSeconds.unwrap().unwrap();

/**
 * The `key=value`s of `tapit create schedule`: when and how it fires, then every key of
 * `tapit create task` for what each run creates. The expression and the zone are checked by the
 * scheduler (it knows the cron syntax and the zones), everything else here before sending.
 */
export const CREATE_SCHEDULE_KEYS: KeyValueSpec = {
  positional: CREATE_TASK_KEYS.positional,
  keys: {
    cron: { field: 'cron', type: 'string', required: true },
    timezone: { field: 'timezone', type: 'string' },
    concurrency: { field: 'concurrency', type: 'string', allowed: `allowed values are ${ConcurrencyPolicy.options.join(', ')}` },
    missed: { field: 'missed', type: 'string', allowed: `allowed values are ${MissedRunPolicy.options.join(', ')}` },
    starting_deadline: {
      field: 'startingDeadlineSeconds',
      type: 'number',
      nullable: true,
      allowed: `must be a whole number of seconds from ${STARTING_DEADLINE.minValue} to ${STARTING_DEADLINE.maxValue}, or none`,
    },
    retries: { field: 'retries', type: 'number', allowed: `must be a whole number from 0 to ${MAX_SCHEDULE_RETRIES}` },
    webhook: { field: 'webhookUrl', type: 'string' },
    // A schedule's tasks get their app's env; per-run env= overrides are not kept on schedules.
    ...Object.fromEntries(Object.entries(CREATE_TASK_KEYS.keys).filter(([key]) => key !== 'env')),
  },
};
