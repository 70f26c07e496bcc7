// The flags of `kinject run` beyond the cluster and target ones (options.ts), defined once: `run`
// takes them, and `kinject config` takes them too, to show what a run with them would use.
import { Option, type Command } from 'commander';
import { ENV_SYNTAXES } from '../env-file/index.js';

export function addRunFlags(command: Command): Command {
  return command
    .addOption(new Option('--method <method>', 'how the process is connected').choices(['inject-tcp']).default('inject-tcp'))
    .option('--proxy <url>', 'use this SOCKS5 server instead of a cluster: socks5://[user:pass@]HOST:PORT')
    .option('--local-names <list>', 'comma-separated names resolved locally, not in the cluster (.suffix matches a domain)')
    .option(
      '--mount <dir>',
      "with --target: mount the workload's volumes at DIR (default: ${XDG_RUNTIME_DIR:-/tmp}/kinject-<uid>/<session>); failing to mount there is an error",
    )
    .option('--no-mount', "with --target: do not mount the workload's volumes")
    .option('--env-file <file>', "write --target's env to FILE (in --env-syntax)")
    .addOption(
      new Option(
        '--env-syntax <syntax>',
        'syntax of --env-file: dotenv (npm dotenv, the default), compose (docker compose env_file), sh (. FILE in sh/bash/dash), json',
      ).choices([...ENV_SYNTAXES]),
    )
    .option('--env-json <file>', "write --target's env to FILE as JSON")
    .addOption(
      new Option('--env-precedence <which>', 'which value wins when a variable is set both locally and in the workload')
        .choices(['cluster', 'local'])
        .default('cluster'),
    )
    .option('--no-inspect', 'do not start or feed the inspection page (http://127.0.0.1:4040, see README "Inspection page")')
    .option('--verbose', 'print diagnostics of kinject and the shim on stderr', false)
    .addOption(
      new Option(
        '--output <format>',
        "kinject's own stderr lines: text, or json (one JSON object a line: pod-created, pod-ready, tunnel-up, volumes-mounted, child-exit, cleanup-done, ...)",
      )
        .choices(['text', 'json'])
        .default('text'),
    );
}
