// `kinject cleanup`: removes what kinject sessions left behind in the cluster (proxy Jobs, their
// pods and Secrets), in one namespace or all, and lists what it removed.
import { connectKube } from '../kube/config.js';
import { cleanup } from '../kube/cleanup.js';
import { usageError } from '../errors.js';
import type { KubeFlags } from './options.js';

export interface CleanupCommandOptions extends KubeFlags {
  allNamespaces: boolean;
}

export async function cleanupCommand(options: CleanupCommandOptions): Promise<void> {
  if (options.allNamespaces && options.namespace) throw usageError('use either -n NAMESPACE or --all-namespaces, not both');
  const access = await connectKube({ kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace });
  const removed = await cleanup({ access, allNamespaces: options.allNamespaces });
  for (const object of removed) {
    process.stdout.write(`removed ${object.kind} ${object.namespace}/${object.name}\n`);
  }
  const scope = options.allNamespaces ? 'all namespaces' : `namespace ${access.namespace}`;
  process.stderr.write(`kinject: ${removed.length === 0 ? 'nothing to clean up' : `removed ${removed.length} objects`} in ${scope}\n`);
}
