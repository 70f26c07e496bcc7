// `kinject cleanup`: removes what kinject sessions left behind and lists it. First the local part,
// which needs no cluster: volume mounts of kinject processes that are gone (SIGKILL) and their
// session key directories. Then the cluster part: proxy Jobs, their pods and Secrets, in one
// namespace or all. If the cluster cannot be reached, the local part is still done and the
// cluster's error is reported (exit 1).
import { usageError } from '../errors.js';
import { removeLeftoverMounts } from '../volumes/leftovers.js';
import { removeStaleSessionDirs } from '../session/dirs.js';
import type { KubeFlags } from './options.js';

export interface CleanupCommandOptions extends KubeFlags {
  allNamespaces: boolean;
}

const say = (line: string) => process.stderr.write(`kinject: ${line}\n`);

export async function cleanupCommand(options: CleanupCommandOptions): Promise<void> {
  if (options.allNamespaces && options.namespace) throw usageError('use either -n NAMESPACE or --all-namespaces, not both');
  await cleanupLocal();
  const { connectKube } = await import('../kube/config.js');
  const { cleanup } = await import('../kube/cleanup.js');
  const access = await connectKube({ kubeconfig: options.kubeconfig, context: options.context, namespace: options.namespace });
  const removed = await cleanup({ access, allNamespaces: options.allNamespaces });
  for (const object of removed) {
    process.stdout.write(`removed ${object.kind} ${object.namespace}/${object.name}\n`);
  }
  const scope = options.allNamespaces ? 'all namespaces' : `namespace ${access.namespace}`;
  say(`${removed.length === 0 ? 'nothing to clean up' : `removed ${removed.length} objects`} in ${scope}`);
}

async function cleanupLocal(): Promise<void> {
  const mounts = await removeLeftoverMounts({ log: { warn: say } });
  for (const dir of mounts.removed) process.stdout.write(`removed mount ${dir}\n`);
  for (const dir of mounts.skipped) say(`left ${dir} mounted: the kinject that made it is still running`);
  // a mount that could not be unmounted was reported by removeLeftoverMounts (with the command to try)
  removeStaleSessionDirs();
}
