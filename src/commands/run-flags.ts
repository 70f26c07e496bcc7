// The flags of `kinject run` beyond the cluster and target ones (options.ts), defined once: `run`
// takes them, and `kinject config` takes them too, to show what a run with them would use.
import { Option, type Command } from 'commander';
import { ENV_SYNTAXES } from '../env-file/index.js';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

export function addRunFlags(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--method <method>',
        'how the process is connected: inject-tcp (the preload shim) or netns (a user + network namespace: also Go and static binaries)',
      )
        .choices(['inject-tcp', 'netns'])
        .default('inject-tcp'),
    )
    .option('--host-loopback', "with --method netns: let the command reach the host's loopback at 10.0.2.2 (off by default)")
    .addOption(
      new Option(
        '--transport <how>',
        "how to reach the proxy pod: direct (mutual TLS to the pod's IP), port-forward (through the API server), auto (direct when the pod IP answers at start, else port-forward)",
      )
        .choices(['auto', 'direct', 'port-forward'])
        .default('auto'),
    )
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
    .option(
      '--intercept <port[:localport]>',
      "with --target: send the traffic of the workload's Service port PORT (number or name) to 127.0.0.1:LOCALPORT (default: the targetPort); repeatable",
      collect,
    )
    .option(
      '--header <name=value>',
      'with --intercept: only HTTP requests with this header go to the local process (a personal intercept); repeatable',
      collect,
    )
    .option('--path-prefix <prefix>', 'with --intercept: only HTTP requests whose path starts with PREFIX go to the local process')
    .option('--service <name>', 'with --intercept: the Service to intercept when several select the workload')
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
