import type { KeyValueSpec } from './key-values.js';

/**
 * What a command tells shell completion beyond its flags: the `key=`s it takes (from the spec it
 * parses with, never a second list) and whether it names a task (`task=ID` or a bare id).
 */
export interface Completion {
  keys?: readonly string[];
  taskId?: boolean;
}

/** The key names of a spec, plus keys a command takes outside it (`keep` of `create task`). */
export function keyNames(spec: KeyValueSpec, ...extra: string[]): string[] {
  return [...Object.keys(spec.keys), ...extra];
}

/** The part of a command class completion reads (oclif's statics, and ours). */
interface CompletableCommand {
  hidden?: boolean;
  flags?: Record<string, { char?: string; hidden?: boolean }>;
  baseFlags?: Record<string, { char?: string; hidden?: boolean }>;
  enableJsonFlag?: boolean;
  completion?: Completion;
}

/** Every visible command, by its words (`create task`), with what follows them. */
export interface CompletionTable {
  /** Words after `tapit`: topics and commands without a topic. */
  top: string[];
  /** A topic's next words. */
  sub: Record<string, string[]>;
  /** Per command id (`create:task`): its flags, `key=`s and whether it takes a task id. */
  commands: Record<string, { flags: string[]; keys: string[]; taskId: boolean }>;
}

export function completionTable(commands: Record<string, unknown>): CompletionTable {
  const top = new Set<string>();
  const sub: Record<string, Set<string>> = {};
  const table: CompletionTable['commands'] = {};
  for (const [id, value] of Object.entries(commands)) {
    const command = value as CompletableCommand;
    if (command.hidden) continue;
    const [first, second] = id.split(':');
    top.add(first!);
    if (second !== undefined) (sub[first!] ??= new Set()).add(second);
    const flags = Object.entries({ ...command.baseFlags, ...command.flags })
      .filter(([, flag]) => !flag.hidden)
      .map(([name]) => `--${name}`);
    if (command.enableJsonFlag) flags.push('--json');
    flags.push('--help');
    const completion = command.completion ?? {};
    const keys = [...(completion.keys ?? []), ...(completion.taskId ? ['task'] : [])].map((key) => `${key}=`);
    table[id] = { flags: flags.sort(), keys, taskId: completion.taskId === true };
  }
  return {
    top: [...top].sort(),
    sub: Object.fromEntries(Object.entries(sub).map(([topic, words]) => [topic, [...words].sort()])),
    commands: table,
  };
}

/** A word list as one shell-safe single-quoted string (our words hold no quote). */
const quoted = (words: readonly string[]) => `'${words.join(' ')}'`;

/**
 * The bash completion script: the tables, then one function. bash splits words at `=` and `:`
 * (COMP_WORDBREAKS), so the function reads the line itself and answers only what follows the
 * last of them; a `key=` is completed without the space after it.
 */
export function bashScript(bin: string, table: CompletionTable): string {
  const entries = (map: Record<string, string[]>) => Object.entries(map).map(([key, words]) => `[${key}]=${quoted(words)}`).join(' ');
  const fn = `_${bin.replace(/\W/g, '_')}_complete`;
  return `# ${bin} completion for bash: add  eval "$(${bin} autocomplete bash)"  to ~/.bashrc
${fn}_top=${quoted(table.top)}
declare -gA ${fn}_sub=(${entries(table.sub)})
declare -gA ${fn}_flags=(${entries(Object.fromEntries(Object.entries(table.commands).map(([id, c]) => [id, c.flags])))})
declare -gA ${fn}_keys=(${entries(Object.fromEntries(Object.entries(table.commands).map(([id, c]) => [id, c.keys])))})
declare -gA ${fn}_task=(${Object.entries(table.commands).filter(([, c]) => c.taskId).map(([id]) => `[${id}]=1`).join(' ')})
${fn}() {
  local line=\${COMP_LINE:0:COMP_POINT} cur="" id="" word words candidates
  read -ra words <<<"$line"
  if [[ $line != *[[:space:]] ]]; then cur=\${words[-1]}; unset 'words[-1]'; fi
  local skip=""
  for word in "\${words[@]:1}"; do
    # The value of a scope flag (-a web) is no command word.
    if [[ -n $skip ]]; then skip=""; continue; fi
    case $word in -a|-p|-s|--app|--project|--stage) skip=1; continue ;; -*|*=*) continue ;; esac
    if [[ -z $id ]]; then id=$word
    elif [[ $id != *:* && " \${${fn}_sub[$id]} " == *" $word "* ]]; then id=$id:$word
    fi
  done
  if [[ -z $id ]]; then candidates=\$${fn}_top
  elif [[ $cur == -* ]]; then candidates=\${${fn}_flags[$id]}
  else
    [[ $id != *:* ]] && candidates=\${${fn}_sub[$id]}
    candidates+=" \${${fn}_keys[$id]}"
    if [[ -n \${${fn}_task[$id]} && ( $cur == task=* || ( -n $cur && $cur != *=* ) ) ]]; then
      local ids; ids=$("\${COMP_WORDS[0]}" autocomplete task-ids 2>/dev/null)
      if [[ $cur == task=* ]]; then candidates=$(printf 'task=%s ' $ids); else candidates+=" $ids"; fi
    fi
  fi
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
  # bash replaces only the part after the last = or :, so answer that part alone.
  local broken=\${cur%"\${cur##*[=:]}"} i
  for i in "\${!COMPREPLY[@]}"; do COMPREPLY[i]=\${COMPREPLY[i]#"$broken"}; done
  if [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *= ]]; then compopt -o nospace 2>/dev/null; fi
  return 0
}
complete -F ${fn} ${bin}
`;
}

/** The zsh completion script: the same tables and rules, in zsh's own terms. */
export function zshScript(bin: string, table: CompletionTable): string {
  const pairs = (map: Record<string, string[]>) => Object.entries(map).map(([key, words]) => `${key} ${quoted(words)}`).join(' ');
  const fn = `_${bin.replace(/\W/g, '_')}_complete`;
  return `#compdef ${bin}
# ${bin} completion for zsh: add  eval "$(${bin} autocomplete zsh)"  to ~/.zshrc, after compinit
typeset -g ${fn}_top=${quoted(table.top)}
typeset -gA ${fn}_sub ${fn}_flags ${fn}_keys ${fn}_task
${fn}_sub=(${pairs(table.sub)})
${fn}_flags=(${pairs(Object.fromEntries(Object.entries(table.commands).map(([id, c]) => [id, c.flags])))})
${fn}_keys=(${pairs(Object.fromEntries(Object.entries(table.commands).map(([id, c]) => [id, c.keys])))})
${fn}_task=(${Object.entries(table.commands).filter(([, c]) => c.taskId).map(([id]) => `${id} 1`).join(' ')})
${fn}() {
  local cur=\${words[CURRENT]} id="" word
  local -a candidates keys
  local skip=""
  for word in \${words[2,CURRENT-1]}; do
    if [[ -n $skip ]]; then skip=""; continue; fi
    case $word in -a|-p|-s|--app|--project|--stage) skip=1; continue ;; -*|*=*) continue ;; esac
    if [[ -z $id ]]; then id=$word
    elif [[ $id != *:* && " \${${fn}_sub[$id]} " == *" $word "* ]]; then id=$id:$word
    fi
  done
  if [[ -z $id ]]; then candidates=(\${=${fn}_top})
  elif [[ $cur == -* ]]; then candidates=(\${=${fn}_flags[$id]})
  else
    [[ $id != *:* ]] && candidates=(\${=${fn}_sub[$id]})
    keys=(\${=${fn}_keys[$id]})
    if [[ -n \${${fn}_task[$id]} && ( $cur == task=* || ( -n $cur && $cur != *=* ) ) ]]; then
      local -a ids; ids=(\${(f)"$(\${words[1]} autocomplete task-ids 2>/dev/null)"})
      if [[ $cur == task=* ]]; then keys=(); candidates=(\${ids/#/task=}); else candidates+=(\$ids); fi
    fi
  fi
  compadd -S '' -- \$keys
  compadd -- \$candidates
}
compdef ${fn} ${bin}
`;
}
