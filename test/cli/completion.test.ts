import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, installTapitIn, runCli } from '../support/cli.js';
import { cleanEnv, HOOK_TIMEOUT_MS } from '../support/repo.js';
import { freePort, startScheduler, type RunningScheduler } from '../support/scheduler.js';
import { createDatabase, type FreshDatabase } from '../support/postgres.js';

// `tapit autocomplete bash|zsh` run by the real shells: bash through its own completion function
// (COMP_LINE/COMP_POINT/COMP_WORDS, as bash sets them on TAB), zsh with compadd recorded.
const run = promisify(execFile);
let database: FreshDatabase;
let scheduler: RunningScheduler;
let home: string;
let env: Record<string, string>;
let taskId: string;

beforeAll(async () => {
  database = await createDatabase();
  scheduler = await startScheduler({}, { databaseUrl: database.url });
  home = await mkdtemp(join(tmpdir(), 'tapit-completion-'));
  // `tapit` on the PATH, as an installed CLI is: the scripts call it back for task ids.
  await installTapitIn(home);
  env = { ...cliEnv(scheduler, home), PATH: `${home}:${process.env.PATH ?? ''}` };
  expect((await runCli(['create', 'app', 'web', 'image=busybox:1.36'], { env })).code).toBe(0);
  const created = await runCli(['create', 'task', 'sleep 1', '-a', 'web', '--json'], { env });
  taskId = (JSON.parse(created.stdout) as { id: string }).id;
  // Printed once, sourced by each case below (a CLI start per TAB would only slow the file).
  for (const shell of ['bash', 'zsh']) await writeFile(join(home, `completion.${shell}`), (await runCli(['autocomplete', shell], { env })).stdout);
}, HOOK_TIMEOUT_MS);
afterAll(async () => {
  await scheduler?.stop();
  await database?.drop();
  if (home) await rm(home, { recursive: true, force: true });
}, HOOK_TIMEOUT_MS);

/** What bash offers on TAB at the end of `line`, and whether it adds no space after it. */
async function bashCompletes(line: string, extraEnv: Record<string, string> = {}): Promise<{ words: string[]; nospace: boolean; stderr: string }> {
  const script = [
    `source '${join(home, 'completion.bash')}'`,
    // bash's own word split, at COMP_WORDBREAKS (= and : among them), as on a real TAB.
    'COMP_LINE=$LINE; COMP_POINT=${#LINE}',
    'COMP_WORDS=(); while read -r w; do COMP_WORDS+=("$w"); done < <(printf %s "$LINE" | sed -E "s/([=:])/ \\1 /g; s/ +/\\n/g"; [[ $LINE == *[\\ =:] ]] && echo)',
    'COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
    'compopt() { [[ $* == "-o nospace" ]] && echo "<nospace>"; }',
    '_tapit_complete; printf "%s\\n" "${COMPREPLY[@]}"',
  ].join('\n');
  const { stdout, stderr } = await run('bash', ['-c', script], { env: cleanEnv({ ...env, ...extraEnv, LINE: line }) });
  const lines = stdout.split('\n').filter((word) => word !== '');
  return { words: lines.filter((word) => word !== '<nospace>'), nospace: lines.includes('<nospace>'), stderr };
}

describe('tapit autocomplete', () => {
  it('prints a bash script that registers itself, and refuses another shell in one line', async () => {
    const { stdout } = await run('bash', ['-c', 'eval "$(tapit autocomplete bash)"; complete -p tapit'], { env: cleanEnv(env) });
    expect(stdout.trim()).toBe('complete -F _tapit_complete tapit');
    const fish = await runCli(['autocomplete', 'fish'], { env });
    expect(fish.code).toBe(2);
    expect(fish.stderr.trim()).toMatch(/^Error: Expected fish to be one of: bash, zsh$/);
  });

  it('completes topics, commands, flags and the keys of create task and run in bash', async () => {
    expect((await bashCompletes('tapit cr')).words).toEqual(['create']);
    expect((await bashCompletes('tapit create ta')).words).toEqual(['task']);
    expect((await bashCompletes('tapit task ')).words).toEqual(['attach', 'run', 'stop']);
    expect((await bashCompletes('tapit show task --j')).words).toEqual(['--json']);
    expect((await bashCompletes('tapit -a web create ta')).words).toEqual(['task']);
    // A key, with no space after its `=`, so the value follows.
    expect(await bashCompletes("tapit create task 'echo hi' mem")).toEqual({ words: ['memory='], nospace: true, stderr: '' });
    expect((await bashCompletes('tapit create task echo memory=2 ')).words).toEqual(expect.arrayContaining(['cpu=', 'max_hours=', 'ephemeral_storage_gb=', 'keep=', 'env=']));
    // run takes the same keys as create task, less initiated_by (task-keys.ts), and no keep.
    const runKeys = (await bashCompletes('tapit run bash ')).words;
    expect(runKeys).toContain('memory=');
    expect(runKeys).not.toContain('initiated_by=');
    expect(runKeys).not.toContain('keep=');
  });

  it('completes task ids from the scheduler, as task=ID and bare', async () => {
    // bash broke the word at `=`: it is given the id alone to put after `task=`.
    expect((await bashCompletes(`tapit show task task=${taskId.slice(0, 3)}`)).words).toEqual([taskId]);
    expect((await bashCompletes(`tapit task stop ${taskId.slice(0, 4)}`)).words).toEqual([taskId]);
  });

  it('completes no task id, quietly, when the scheduler does not answer', async () => {
    const gone = `http://127.0.0.1:${await freePort()}`;
    const answer = await bashCompletes(`tapit show task task=${taskId.slice(0, 3)}`, { TAPIT_URL: gone });
    expect(answer).toEqual({ words: [], nospace: false, stderr: '' });
  });

  it('prints a zsh script that completes the same: commands, keys, task ids', async () => {
    // compadd recorded: what it would offer for the word being completed (zsh matches the prefix).
    const zshCompletes = async (line: string) => {
      const words = line.split(' ');
      const script = [
        'compdef() { print -r -- "<compdef $*>" }',
        'compadd() { local suffix=""; [[ $1 == -S ]] && { suffix="<nospace>"; shift 2 }; [[ $1 == -- ]] && shift; local w; for w in "$@"; do [[ $w == ${words[CURRENT]}* ]] && print -r -- "$w$suffix"; done; return 0 }',
        `source '${join(home, 'completion.zsh')}'`,
        `words=(${words.map((word) => `'${word}'`).join(' ')}); CURRENT=${words.length}`,
        '_tapit_complete',
      ].join('\n');
      const { stdout } = await run('zsh', ['-f', '-c', script], { env: cleanEnv(env) });
      return stdout.split('\n').filter((word) => word !== '');
    };
    expect(await zshCompletes('tapit cr')).toEqual(['<compdef _tapit_complete tapit>', 'create']);
    expect(await zshCompletes('tapit -a web create ta')).toEqual(['<compdef _tapit_complete tapit>', 'task']);
    expect(await zshCompletes('tapit create task echo mem')).toEqual(['<compdef _tapit_complete tapit>', 'memory=<nospace>']);
    expect(await zshCompletes(`tapit show task task=${taskId.slice(0, 3)}`)).toEqual(['<compdef _tapit_complete tapit>', `task=${taskId}`]);
  });
});
