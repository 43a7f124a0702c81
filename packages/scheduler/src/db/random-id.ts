import { pooledRandomBytes } from '../random-pool.js';

/** A task id: 32 lowercase hex characters. */
export function newTaskId(): string {
  return pooledRandomBytes(16).toString('hex');
}
