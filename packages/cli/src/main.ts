import { execute } from '@oclif/core';
import { hoistScopeFlags } from './lib/argv.js';

export { COMMANDS } from './commands.js';

/** Runs the CLI; `root` is any path inside the package (oclif finds package.json from it). */
export async function main(argv: readonly string[], root: string): Promise<void> {
  await execute({ args: hoistScopeFlags(argv), dir: root });
}
