// `kinject completion bash|zsh|fish`: a completion script generated from the command line's own
// definition (commander's commands, options and choices), so it never lags behind the flags.
// bash: `source <(kinject completion bash)`; zsh: the bash one through bashcompinit; fish:
// `kinject completion fish | source`. Completes subcommands, their flags, flag choices, files for
// file flags and, after `--`, commands. Also for `kubectl-kinject`.
import type { Command, Option } from 'commander';
import { usageError } from '../errors.js';

const FILE_FLAGS = new Set(['--kubeconfig', '--env-file', '--env-json', '--mount', '--token-file']);

interface Sub {
  name: string;
  description: string;
  options: Option[];
  /** the values its arguments can take (completion's shells) */
  values: string[];
}

function subcommands(program: Command): Sub[] {
  return program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    options: [...c.options],
    values: c.registeredArguments.flatMap((a) => a.argChoices ?? []),
  }));
}

function flags(o: Option): string[] {
  return [o.long, o.short].filter((f): f is string => !!f);
}

function bash(program: Command): string {
  const subs = subcommands(program);
  const cases = subs.map((s) => {
    const words = [...s.values, ...s.options.flatMap(flags), '--help'].join(' ');
    const valued = s.options.filter((o) => o.required || o.optional);
    const choices = valued
      .filter((o) => o.argChoices)
      .map((o) => `      ${flags(o).join('|')}) COMPREPLY=($(compgen -W "${o.argChoices!.join(' ')}" -- "$cur")); return ;;`);
    const files = valued.filter((o) => FILE_FLAGS.has(o.long ?? '')).map((o) => `      ${flags(o).join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;`);
    const other = valued.filter((o) => !o.argChoices && !FILE_FLAGS.has(o.long ?? '')).map((o) => `      ${flags(o).join('|')}) return ;;`);
    return [
      `    ${s.name})`,
      '      case "$prev" in',
      ...choices,
      ...files,
      ...other,
      '      esac',
      `      COMPREPLY=($(compgen -W "${words}" -- "$cur")) ;;`,
    ].join('\n');
  });
  return `# kinject completion for bash (and zsh through bashcompinit): source <(kinject completion bash)
_kinject() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" sub="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      --) COMPREPLY=($(compgen -c -- "$cur")); return ;;
      -*) ;;
      *) if [ -z "$sub" ]; then sub="\${COMP_WORDS[i]}"; fi ;;
    esac
  done
  case "$sub" in
    "") COMPREPLY=($(compgen -W "${subs.map((s) => s.name).join(' ')} ${program.options.flatMap(flags).join(' ')} --help" -- "$cur")) ;;
${cases.join('\n')}
  esac
}
complete -F _kinject kinject kubectl-kinject
`;
}

function zsh(program: Command): string {
  return `#compdef kinject kubectl-kinject
# kinject completion for zsh: source <(kinject completion zsh)  (uses the bash completion)
(( $+functions[compdef] )) || { autoload -U +X compinit && compinit; }
autoload -U +X bashcompinit && bashcompinit
${bash(program).split('\n').slice(1).join('\n')}`;
}

function fish(program: Command): string {
  const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  const lines = ['# kinject completion for fish: kinject completion fish | source'];
  for (const cmd of ['kinject', 'kubectl-kinject']) {
    const subs = subcommands(program);
    const names = subs.map((s) => s.name).join(' ');
    lines.push(`complete -c ${cmd} -f`);
    for (const s of subs) lines.push(`complete -c ${cmd} -n 'not __fish_seen_subcommand_from ${names}' -a ${s.name} -d ${q(s.description.split(':')[0])}`);
    for (const s of subs) {
      if (s.values.length) lines.push(`complete -c ${cmd} -n '__fish_seen_subcommand_from ${s.name}' -a ${q(s.values.join(' '))}`);
      for (const o of s.options) {
        const parts = [`complete -c ${cmd} -n '__fish_seen_subcommand_from ${s.name}'`];
        if (o.long) parts.push(`-l ${o.long.replace(/^--/, '')}`);
        if (o.short) parts.push(`-s ${o.short.replace(/^-/, '')}`);
        if (o.required || o.optional) parts.push(o.argChoices ? `-x -a ${q(o.argChoices.join(' '))}` : FILE_FLAGS.has(o.long ?? '') ? '-r -F' : '-x');
        parts.push(`-d ${q(o.description.split(/[:(]/)[0].trim())}`);
        lines.push(parts.join(' '));
      }
    }
  }
  return lines.join('\n') + '\n';
}

export function completionCommand(program: Command, shell: string): void {
  const make = { bash, zsh, fish }[shell];
  if (!make) throw usageError(`no completion for shell "${shell}": use bash, zsh or fish`);
  process.stdout.write(make(program));
}
