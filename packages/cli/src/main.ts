import { execute, settings } from '@oclif/core';
import { hoistScopeFlags } from './lib/argv.js';

export { COMMANDS } from './commands.js';

/** Runs the CLI; `root` is any path inside the package (oclif finds package.json from it). */
export async function main(argv: readonly string[], root: string): Promise<void> {
  // The CLI always runs its compiled bundle: oclif must not look for TypeScript sources when
  // NODE_ENV is development or test (it would warn on every command).
  settings.enableAutoTranspile = false;
  await execute({ args: hoistScopeFlags(argv), dir: root });
}
