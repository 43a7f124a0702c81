import type { KeyValueSpec } from './key-values.js';

/**
 * The `key=value`s of `tapit create task` (and of `tapit run` and `tapit create schedule`), as the
 * tapit docs name them.
 */
export const CREATE_TASK_KEYS: KeyValueSpec = {
  positional: { field: 'command', name: 'command', required: true },
  keys: {
    memory: { field: 'memoryGb', type: 'number' },
    cpu: { field: 'cpu', type: 'number' },
    docker_tag: { field: 'dockerTag', type: 'string' },
    image: { field: 'image', type: 'string' },
    release: { field: 'release', type: 'number', allowed: 'must be a release number (1, 2, …; tapit list releases shows them)' },
    max_hours: { field: 'maxHours', type: 'number' },
    initiated_by: { field: 'initiatedBy', type: 'string' },
    ephemeral_storage_gb: { field: 'ephemeralStorageGb', type: 'number' },
    constraint: { field: 'constraints', type: 'labels' },
    env: { field: 'env', type: 'env' },
  },
};

/** `tapit run 'bash'`: the same keys, less initiated_by (a console is run by the one typing in it). */
export const RUN_TASK_KEYS: KeyValueSpec = {
  positional: CREATE_TASK_KEYS.positional,
  keys: Object.fromEntries(Object.entries(CREATE_TASK_KEYS.keys).filter(([key]) => key !== 'initiated_by')),
};
