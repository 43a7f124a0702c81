/** Words a command line may hold to be split on spaces as it is: no quoting, no shell syntax. */
const PLAIN_WORDS = /^[\w@%+=:,./-]+(\s+[\w@%+=:,./-]+)*$/;

/**
 * The argument vector of an exec typed in the dashboard's one field, as a user means it: plain
 * words (`sh`, `ls -la /tmp`) as they are, so an image without a shell still runs them; anything
 * with quotes, pipes or variables through `sh -c`, as `tapit run` runs its line.
 */
export function execArgv(line: string): string[] {
  const trimmed = line.trim();
  if (trimmed === '') return [];
  return PLAIN_WORDS.test(trimmed) ? trimmed.split(/\s+/) : ['sh', '-c', trimmed];
}
