// `kinject version`: kinject's version, the shim it would preload (its embedded version, where it
// is and whether it is prebuilt or built from source) and the proxy pod image `kinject run` would
// use with the current (or the given) kubeconfig context. Reads the kubeconfig only, no network.
import { shimLocation } from '../paths.js';
import { shimVersion } from '../shim/version.js';
import { version } from '../version.js';
import type { KubeFlags } from './options.js';

export async function versionCommand(options: KubeFlags & { proxyImage?: string }, proxyImageFrom = '--proxy-image'): Promise<void> {
  const out: string[] = [`kinject ${version}`];
  const shim = shimLocation.kind === 'missing' ? undefined : shimVersion(shimLocation.path);
  const shimWhere = shimLocation.kind === 'prebuilt' ? `prebuilt for ${process.platform}-${process.arch}` : shimLocation.kind;
  out.push(`shim ${shim ?? 'unknown'} (${shimWhere}: ${shimLocation.path})`);
  out.push(`proxy image ${await proxyImage(options, proxyImageFrom)}`);
  process.stdout.write(out.join('\n') + '\n');
}

async function proxyImage(options: KubeFlags & { proxyImage?: string }, from: string): Promise<string> {
  if (options.proxyImage) return `${options.proxyImage} (${from})`;
  const { DEFAULT_PROXY_IMAGE, localClusterImage } = await import('../kube/proxy-job.js');
  try {
    const { loadKubeAccess } = await import('../kube/config.js');
    const access = loadKubeAccess(options);
    const local = localClusterImage(access.context) ?? localClusterImage(access.cluster);
    return `${local ?? DEFAULT_PROXY_IMAGE} (context ${access.context}${local ? ': the local dev cluster' : ''})`;
  } catch (err) {
    if (options.kubeconfig || options.context) throw err; // asked for explicitly: a bad one is an error
    return `${DEFAULT_PROXY_IMAGE} (no usable kubeconfig context; --proxy-image overrides it)`;
  }
}
