import { readFileSync } from 'node:fs';

/** The scheduler's version, from its package.json. */
export const SCHEDULER_VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
