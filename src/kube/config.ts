// Cluster access the way kubectl finds it: --kubeconfig (one file), else KUBECONFIG (a colon list,
// missing files skipped, the first file to define a name or current-context wins), else
// ~/.kube/config, else the in-cluster service account. --context picks the context; the
// namespace is -n, else the context's namespace, else "default". client-node's KubeConfig does
// the auth (certificates, tokens, exec plugins). checkApiServer() is the fast "can we talk to
// it at all" probe (GET /version with a short time limit); checkNamespace() verifies -n.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { KubeApiError, KubeClient } from './client.js';
import { KinjectError, apiError, firstLine, namespaceNotFound } from './errors.js';

export interface KubeAccessOptions {
  /** --kubeconfig: one file, must exist */
  kubeconfig?: string;
  /** --context */
  context?: string;
  /** -n/--namespace */
  namespace?: string;
  /** environment to read KUBECONFIG / KUBERNETES_SERVICE_HOST from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** home directory for ~/.kube/config (default os.homedir()) */
  homeDir?: string;
  /** a root prefix for the in-cluster service account files (tests) */
  inClusterRoot?: string;
}

export interface KubeAccess {
  kc: KubeConfig;
  client: KubeClient;
  /** context name ("inClusterContext" in a pod) */
  context: string;
  /** cluster name of the context */
  cluster: string;
  /** API server URL */
  server: string;
  namespace: string;
  /** where the config came from: file paths, or ["in-cluster"] */
  sources: string[];
}

const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function readConfigFile(file: string): KubeConfig | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KinjectError(`cannot read kubeconfig ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!text.trim()) return undefined;
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
    kc.makePathsAbsolute(join(file, '..'));
  } catch (err) {
    throw new KinjectError(`invalid kubeconfig ${file}: ${firstLine((err as Error).message)}`, { cause: err });
  }
  return kc;
}

/** Merges like kubectl: for every name and for current-context, the first file that sets it wins. */
function mergeConfigs(configs: KubeConfig[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const c of configs) {
    for (const x of c.clusters ?? []) if (!clusters.has(x.name)) clusters.set(x.name, x);
    for (const x of c.users ?? []) if (!users.has(x.name)) users.set(x.name, x);
    for (const x of c.contexts ?? []) if (!contexts.has(x.name)) contexts.set(x.name, x);
    if (!currentContext && c.currentContext) currentContext = c.currentContext;
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [...clusters.values()], users: [...users.values()], contexts: [...contexts.values()], currentContext });
  return kc;
}

function contextList(kc: KubeConfig): string {
  const names = kc.getContexts().map((c) => c.name);
  return names.length ? names.join(', ') : '(none)';
}

/**
 * Loads the kubeconfig and selects context and namespace. Synchronous, no network. Throws a
 * KinjectError when there is no configuration, the context is unknown or incomplete.
 */
export function loadKubeAccess(options: KubeAccessOptions = {}): KubeAccess {
  const env = options.env ?? process.env;
  let kc: KubeConfig | undefined;
  let sources: string[] = [];
  let inCluster = false;

  if (options.kubeconfig) {
    if (!existsSync(options.kubeconfig)) {
      throw new KinjectError(`kubeconfig ${options.kubeconfig} does not exist; check --kubeconfig`);
    }
    kc = readConfigFile(options.kubeconfig) ?? new KubeConfig();
    sources = [options.kubeconfig];
  } else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f) && statSync(f).isFile());
    if (files.length) {
      kc = mergeConfigs(files.map(readConfigFile).filter((c): c is KubeConfig => c !== undefined));
      sources = files;
    }
  } else {
    const file = join(options.homeDir ?? homedir(), '.kube', 'config');
    if (existsSync(file)) {
      kc = readConfigFile(file) ?? new KubeConfig();
      sources = [file];
    }
  }
  const root = options.inClusterRoot ?? '';
  const saDir = root + SA_DIR;
  if (!kc && !options.kubeconfig && env.KUBERNETES_SERVICE_HOST && existsSync(join(saDir, 'token'))) {
    kc = new KubeConfig();
    kc.loadFromCluster(root);
    sources = ['in-cluster'];
    inCluster = true;
  }
  if (!kc || kc.getContexts().length === 0) {
    const where = sources.length ? sources.join(':') : env.KUBECONFIG ? `KUBECONFIG=${env.KUBECONFIG}` : '~/.kube/config';
    throw new KinjectError(`no Kubernetes configuration found (looked at ${where}); pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config`);
  }

  const contextName = options.context ?? kc.getCurrentContext();
  if (!contextName) {
    throw new KinjectError(`the kubeconfig (${sources.join(':')}) has no current context; pass --context (available: ${contextList(kc)})`);
  }
  const ctx = kc.getContextObject(contextName);
  if (!ctx) {
    throw new KinjectError(`context "${contextName}" not found in ${sources.join(':')}; available contexts: ${contextList(kc)}; check --context`);
  }
  const cluster = kc.getCluster(ctx.cluster);
  if (!cluster) {
    throw new KinjectError(
      `context "${contextName}" refers to cluster "${ctx.cluster}", which is not defined in ${sources.join(':')}; fix the kubeconfig or pick another --context`,
    );
  }
  if (ctx.user && !kc.getUser(ctx.user)) {
    throw new KinjectError(
      `context "${contextName}" refers to user "${ctx.user}", which is not defined in ${sources.join(':')}; fix the kubeconfig or pick another --context`,
    );
  }
  kc.setCurrentContext(contextName);

  let namespace = (options.namespace || ctx.namespace || '').trim();
  if (!namespace && inCluster) {
    try {
      namespace = readFileSync(join(saDir, 'namespace'), 'utf8').trim();
    } catch {
      // fall through to "default"
    }
  }
  namespace ||= 'default';

  return { kc, client: new KubeClient(kc), context: contextName, cluster: ctx.cluster, server: cluster.server, namespace, sources };
}

export const DEFAULT_API_CHECK_TIMEOUT_MS = 5000;

/**
 * GET /version within timeoutMs. Resolves with the server's gitVersion; rejects with a one-line
 * KinjectError naming the server URL when it cannot be reached or rejects the credentials.
 */
export async function checkApiServer(access: KubeAccess, timeoutMs = DEFAULT_API_CHECK_TIMEOUT_MS): Promise<string> {
  try {
    const v = await access.client.get<{ gitVersion?: string }>('/version', { timeoutMs });
    return v?.gitVersion ?? 'unknown';
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 401) {
      throw new KinjectError(
        `the Kubernetes API server at ${access.server} rejected the credentials of context "${access.context}" (401 Unauthorized); check --context/--kubeconfig or log in again`,
        { cause: err },
      );
    }
    if (err instanceof KubeApiError && err.status === 403) {
      // /version is normally public; a 403 still proves the server is there
      return 'unknown';
    }
    const reason =
      err instanceof KubeApiError
        ? err.status === 0
          ? `${err.reason === 'Timeout' ? 'timed out' : err.reason}: ${firstLine(err.message)}`
          : `HTTP ${err.status}: ${firstLine(err.message)}`
        : firstLine(String((err as Error)?.message ?? err));
    throw new KinjectError(`cannot reach the Kubernetes API server at ${access.server}: ${reason}; check --context/--kubeconfig`, { cause: err });
  }
}

/**
 * Checks that the namespace exists. With namespace-scoped RBAC (no permission to get namespaces)
 * the check is skipped: creating objects there reports a missing namespace anyway.
 */
export async function checkNamespace(access: KubeAccess): Promise<void> {
  try {
    await access.client.get(`/api/v1/namespaces/${encodeURIComponent(access.namespace)}`);
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404) throw namespaceNotFound(access.namespace, err);
    if (err instanceof KubeApiError && err.status === 403) return;
    throw apiError(err, { verb: 'get', resource: 'namespaces', name: access.namespace });
  }
}

/** loadKubeAccess + checkApiServer + checkNamespace: everything the CLI does before a session. */
export async function connectKube(options: KubeAccessOptions & { timeoutMs?: number } = {}): Promise<KubeAccess> {
  const access = loadKubeAccess(options);
  try {
    await checkApiServer(access, options.timeoutMs);
    await checkNamespace(access);
  } catch (err) {
    access.client.close();
    throw err;
  }
  return access;
}
