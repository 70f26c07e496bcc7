// kinject's command line: commander wiring only. Each command's work lives in src/commands/ and
// is imported when that command runs (the cluster client alone takes ~0.5 s to load).
import { Argument, Command, CommanderError, Option } from 'commander';
import { KinjectError } from './errors.js';
import { addKubeFlags, addTargetFlags } from './commands/options.js';
import { addRunFlags } from './commands/run-flags.js';
import { version } from './version.js';
import { ENV_SYNTAXES } from './env-file/syntaxes.js';
import { errorMessage } from './util/error-message.js';

const program = new Command();
program
  .name('kinject')
  .description('Run one local process as if it were inside a Kubernetes cluster.')
  .version(version)
  .enablePositionalOptions()
  // usage errors are one line like every other error: "kinject: <what is wrong>"
  .configureOutput({ outputError: (text, write) => write(`kinject: ${text.replace(/^error: /, '').trimEnd()} (see --help)\n`) })
  .exitOverride() // thrown as CommanderError, below: usage errors exit 2
  .option('--no-project-file', 'ignore .kinject.yaml / .kinject.json')
  .addHelpText(
    'after',
    '\nFlags not given come from .kinject.yaml (or .kinject.json) in the working directory or a parent,\nif there is one: `kinject config` shows the settings and where each comes from. `kubectl kinject ...` is the same.',
  )
  .hook('preAction', async (_program, command) => {
    // defaults from the project file (.kinject.yaml in the working directory or a parent); flags win
    if (command.name() === 'proxy-server' || command.name() === 'inspect-server' || program.opts().projectFile === false) return;
    const { findProjectFile, loadProjectFile } = await import('./config/project-file.js');
    const { applyProjectFile } = await import('./config/apply.js');
    const file = findProjectFile();
    if (file) applyProjectFile(command, loadProjectFile(file));
  });

addRunFlags(
  addTargetFlags(
    program
      .command('run')
      .description("run COMMAND with the cluster's network (and, with --target, a workload's env and volumes)")
      .usage('[options] -- COMMAND [ARGS...]'),
  ),
)
  .argument('<command>', 'the command to run')
  .argument('[args...]', 'its arguments')
  .passThroughOptions()
  .action(async (command: string, args: string[], options) => {
    const { runCommand } = await import('./commands/run.js');
    process.exitCode = await runCommand(command, args, options);
  });

addTargetFlags(program.command('env').description("print a workload's env as its pods see it (env, envFrom, downward API), without running anything"))
  .addOption(new Option('--format <syntax>', 'output syntax, as --env-syntax of kinject run').choices([...ENV_SYNTAXES]).default('dotenv'))
  .option('--verbose', 'print diagnostics on stderr', false)
  .action(async (options) => {
    const { envCommand } = await import('./commands/env.js');
    await envCommand(options);
  });

addKubeFlags(
  program
    .command('cleanup')
    .description(
      "remove what kinject sessions that are no longer running left behind: local volume mounts, dead teleports' /etc/hosts blocks and files, then proxy pods, Jobs, Secrets and Leases in the cluster, and their intercepts on Services (the selector restored); list it and the live sessions it kept (under sudo: with the invoking user's kubeconfig)",
    ),
)
  .option('-A, --all-namespaces', 'every namespace (needs cluster-wide list permission)', false)
  .option('--include-live', "also end live sessions (ones whose kinject still runs, anyone's): asks on a terminal", false)
  .option('-y, --yes', 'with --include-live: do not ask (needed when stdin is not a terminal)', false)
  .action(async (options) => {
    const { cleanupCommand } = await import('./commands/cleanup.js');
    await cleanupCommand(options);
  });

const session = program
  .command('session')
  .description(
    "kinject sessions: this machine's (without -n/-A: kinject run, teleport, intercepts, from the local registry) or a namespace's in the cluster (-n NS / -A)",
  );
addKubeFlags(
  session
    .command('list')
    .description(
      "without -n/-A: this machine's sessions of this user (under sudo: the invoking user's) (id, kind, live or dead, pid, context/namespaces, target, start, proxy pod, tunnel state); with -n NS or -A: the cluster's sessions with who runs them and whether they are live (their kinject renewed their Lease within its grace)",
    ),
)
  .option('-A, --all-namespaces', 'the cluster view, every namespace (needs cluster-wide list permission)', false)
  .option('--json', 'this machine\'s sessions as a JSON array of their records (with "alive")', false)
  .action(async (options) => {
    const { sessionListCommand } = await import('./commands/session.js');
    await sessionListCommand(options);
  });
addKubeFlags(
  session
    .command('close')
    .description(
      "end sessions, live ones too. Without -n: this machine's, of this user (under sudo: the invoking user's) (SIGTERM to their kinject, which removes what it made; a dead one's leftovers are removed). With -n NS: the cluster's sessions in NS (their kinject says who closed it, stops its command and exits 1)",
    ),
)
  .argument('[id...]', 'session ids (kinject-<id> or <id>, as `kinject session list` shows them)')
  .option('--all', 'every session of this machine, and what dead ones left (hosts entries, files, proxy pods)', false)
  .action(async (ids: string[], options) => {
    const { sessionCloseCommand } = await import('./commands/session.js');
    process.exitCode = await sessionCloseCommand(ids, options);
  });

addKubeFlags(program.command('version').description("print kinject's version, its shim's, and the proxy pod image it would use"))
  .option('--proxy-image <image>', 'the image a run would be given with --proxy-image')
  .action(async (options, command) => {
    const { versionCommand } = await import('./commands/version.js');
    await versionCommand(options, command.getOptionValueSource('proxyImage') === 'config' ? 'the project file' : '--proxy-image');
  });

addRunFlags(
  addTargetFlags(
    program
      .command('config')
      .description(
        'print the settings `kinject run` would use (with these flags) and where each comes from: a flag, the project file (.kinject.yaml), a default',
      ),
  ),
).action(async (options, command) => {
  const { configCommand } = await import('./commands/config.js');
  await configCommand(command, options);
});

program
  .command('completion')
  .description('print a shell completion script: bash (source <(kinject completion bash)), zsh, fish (kinject completion fish | source)')
  .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
  .action(async (shell: string) => {
    const { completionCommand } = await import('./commands/completion.js');
    completionCommand(program, shell);
  });

program
  .command('proxy-server')
  .description('run the proxy server that kinject puts in the proxy pod (SOCKS5 + RESOLVE), by hand')
  .requiredOption('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:1080')
  .option('--token-file <file>', 'file holding the token clients must send (RFC 1929 password, user "kinject")')
  .option('--exit-when-idle <seconds>', 'exit after this many seconds without a client connection')
  .option('--connect-timeout <seconds>', 'give up a CONNECT after this long (reply: TTL expired)')
  .option('--verbose', 'log every request on stderr', false)
  .action(async (options) => {
    const { proxyServerCommand } = await import('./commands/proxy-server.js');
    await proxyServerCommand(options);
  });

program
  .command('teleport')
  .description(
    "make every Service of the namespaces reachable by name from the whole machine: a loopback address each (127.B.x.y), a listener per port relayed through kinject's tunnel, and their names in /etc/hosts (UDP ports are not relayed: the table marks them); starts in the background and returns once the names answer; under sudo only the hosts file is written as root, the session runs as you",
  )
  .option('--kubeconfig <file>', "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config; under sudo the invoking user's, never root's)")
  .option('--context <name>', 'kubeconfig context (default: the current context)')
  .option(
    '-n, --namespace <name>',
    "a namespace to teleport (repeatable; the first gets short names and the proxy pod; default: the context's)",
    (v: string, prev: string[] | undefined) => [...(prev ?? []), v],
  )
  .option('--target <workload>', 'the proxy pod copies this workload of the first namespace (deployment/NAME, ...); with -f its env goes to a file')
  .option('--container <name>', 'the container of --target (default: the first)')
  .option(
    '-f, --env-file <file>',
    "with --target: write the workload's env (dotenv) to FILE and keep it current (a changed ConfigMap or Secret is in it within seconds); removed at the end",
  )
  .option('--proxy-image <image>', 'image for the proxy pod (as kinject run)')
  .addOption(new Option('--timeout <seconds>', 'give up when the proxy pod is not ready after this long').default('120'))
  .option('--no-hosts', 'leave /etc/hosts alone (no root needed): the names go to a hosts-format file and the printed table only')
  .option('--foreground', 'run the session in this terminal until Ctrl-C instead of in the background', false)
  .option('--clean', 'end every teleport session of this user (under sudo: the invoking user) and remove what dead ones left', false)
  .option('--verbose', 'diagnostics on stderr', false)
  .action(async (options) => {
    const { teleportCommand } = await import('./commands/teleport.js');
    const argv = process.argv.slice(2); // the whole command line, run again with --foreground
    process.exitCode = await teleportCommand(options, argv);
  });

program
  .command('inspect-server', { hidden: true })
  .description("the inspection page's server, started detached by `kinject run` (one per user; exits when no session lives)")
  .action(async () => {
    const { runInspectServer } = await import('./inspect/server.js');
    await runInspectServer();
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  if (err instanceof KinjectError) {
    process.stderr.write(`kinject: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`kinject: internal error: ${errorMessage(err, true)}\n`);
  process.exit(70);
}
