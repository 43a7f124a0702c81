import { randomBytes } from 'node:crypto';

/** A task id: 32 lowercase hex characters. */
export function newTaskId(): string {
  return randomBytes(16).toString('hex');
}
