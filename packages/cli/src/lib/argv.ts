const SCOPE_FLAGS = new Set(['-p', '--project', '-s', '--stage', '-a', '--app']);

/**
 * SetOps writes the scope first (`setops -p P -s S --app A task:run -- CMD`), but oclif reads the
 * first word as the command. Scope flags before the command are moved after it — before any
 * `--`, so they never become part of a task's command.
 */
export function hoistScopeFlags(argv: readonly string[]): string[] {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i];
    const name = arg.includes('=') ? arg.slice(0, arg.indexOf('=')) : arg;
    if (!SCOPE_FLAGS.has(name)) break;
    const takesNext = !arg.includes('=') && i + 1 < argv.length;
    leading.push(...argv.slice(i, takesNext ? i + 2 : i + 1));
    i += takesNext ? 2 : 1;
  }
  if (leading.length === 0) return [...argv];
  const rest = argv.slice(i);
  const dashes = rest.indexOf('--');
  return dashes === -1 ? [...rest, ...leading] : [...rest.slice(0, dashes), ...leading, ...rest.slice(dashes)];
}
