// kinject's command line: commander wiring only. Each command's work lives in src/commands/ and
// is imported when that command runs (the cluster client alone takes ~0.5 s to load).
import { Command, CommanderError, Option } from 'commander';
import { KinjectError } from './errors.js';
import { addKubeFlags, addTargetFlags } from './commands/options.js';
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
  .exitOverride(); // thrown as CommanderError, below: usage errors exit 2

addTargetFlags(
  program
    .command('run')
    .description("run COMMAND with the cluster's network (and, with --target, a workload's env and volumes)")
    .usage('[options] -- COMMAND [ARGS...]'),
)
  .addOption(new Option('--method <method>', 'how the process is connected').choices(['inject-tcp']).default('inject-tcp'))
  .option('--proxy <url>', 'use this SOCKS5 server instead of a cluster: socks5://[user:pass@]HOST:PORT')
  .option('--local-names <list>', 'comma-separated names resolved locally, not in the cluster (.suffix matches a domain)')
  .option('--mount <dir>', "with --target: mount the workload's volumes at DIR (default: ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/<session>); failing to mount there is an error")
  .option('--no-mount', "with --target: do not mount the workload's volumes")
  .option('--env-file <file>', "write --target's env to FILE (in --env-syntax)")
  .addOption(new Option('--env-syntax <syntax>', 'syntax of --env-file: dotenv (npm dotenv, the default), compose (docker compose env_file), sh (. FILE in sh/bash/dash), json').choices([...ENV_SYNTAXES]))
  .option('--env-json <file>', "write --target's env to FILE as JSON")
  .addOption(new Option('--env-precedence <which>', 'which value wins when a variable is set both locally and in the workload').choices(['cluster', 'local']).default('cluster'))
  .option('--verbose', 'print diagnostics of kinject and the shim on stderr', false)
  .argument('<command>', 'the command to run')
  .argument('[args...]', 'its arguments')
  .passThroughOptions()
  .action(async (command: string, args: string[], options) => {
    const { runCommand } = await import('./commands/run.js');
    process.exitCode = await runCommand(command, args, options);
  });

addTargetFlags(
  program.command('env').description("print a workload's env as its pods see it (env, envFrom, downward API), without running anything"),
)
  .addOption(new Option('--format <syntax>', 'output syntax, as --env-syntax of kinject run').choices([...ENV_SYNTAXES]).default('dotenv'))
  .option('--verbose', 'print diagnostics on stderr', false)
  .action(async (options) => {
    const { envCommand } = await import('./commands/env.js');
    await envCommand(options);
  });

addKubeFlags(program.command('cleanup').description('remove what kinject sessions that are no longer running left behind: local volume mounts, then proxy pods, Jobs, Secrets and Leases in the cluster; list it and the live sessions it kept'))
  .option('-A, --all-namespaces', 'every namespace (needs cluster-wide list permission)', false)
  .option('--include-live', 'also end live sessions (ones whose kinject still runs, anyone\'s): asks on a terminal', false)
  .option('-y, --yes', 'with --include-live: do not ask (needed when stdin is not a terminal)', false)
  .action(async (options) => {
    const { cleanupCommand } = await import('./commands/cleanup.js');
    await cleanupCommand(options);
  });

const session = program.command('session').description('the kinject sessions in a namespace: list them, end one on purpose');
addKubeFlags(session.command('list').description('list the sessions with who runs them and whether they are live (their kinject renewed their Lease within its grace)'))
  .option('-A, --all-namespaces', 'every namespace (needs cluster-wide list permission)', false)
  .action(async (options) => {
    const { sessionListCommand } = await import('./commands/session.js');
    await sessionListCommand(options);
  });
addKubeFlags(session.command('close').description('end sessions, live ones too: their kinject says who closed it, stops its command and exits 1'))
  .argument('<id...>', 'session ids (kinject-<id> or <id>, as `kinject session list` shows them)')
  .action(async (ids: string[], options) => {
    const { sessionCloseCommand } = await import('./commands/session.js');
    await sessionCloseCommand(ids, options);
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
