// Flags shared by the commands that talk to a cluster (run, env, cleanup), defined once.
import { Option, type Command } from 'commander';
import { usageError } from '../errors.js';

export interface KubeFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export interface TargetFlags extends KubeFlags {
  target?: string;
  container?: string;
  proxyImage?: string;
  timeout: string;
}

export function addKubeFlags(command: Command): Command {
  return command
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option('-n, --namespace <name>', "namespace (default: the context's namespace, else default)");
}

export function addTargetFlags(command: Command): Command {
  return addKubeFlags(command)
    .option(
      '--target <workload>',
      'deployment/NAME, statefulset/NAME, replicaset/NAME or pod/NAME (a bare NAME is a deployment): copy its pod template, env and volumes',
    )
    .option('--container <name>', 'the container of --target whose env and volumes to use (default: the first)')
    .option(
      '--proxy-image <image>',
      'image for the proxy pod: any image with node >= 18 (default: node:22-alpine; kinject.local/node:<major> on the local cluster)',
    )
    .addOption(new Option('--timeout <seconds>', 'give up when the proxy pod is not ready after this long').default('120'));
}

export function seconds(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw usageError(`${flag} ${value} must be a positive number of seconds`);
  return n;
}
