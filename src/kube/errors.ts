// Turns Kubernetes API failures into kinject's one-line errors: forbidden (naming the verb and the
// resource, pointing at rbac/kinject-role.yaml), namespace not found, credentials rejected, API
// server unreachable, and a generic "VERB RESOURCE failed: message" for the rest.

import { KinjectError } from '../errors.js';
import { KubeApiError } from './client.js';
import { errorMessage } from '../util/error-message.js';

export { KinjectError };

export const RBAC_HINT = 'grant the permissions in rbac/kinject-role.yaml';

export interface ApiAction {
  verb: string;
  /** e.g. "jobs", "pods/portforward", "deployments.apps" */
  resource: string;
  namespace?: string;
  name?: string;
}

function where(a: ApiAction): string {
  return a.namespace ? ` in namespace "${a.namespace}"` : '';
}

/** True for a NotFound answer about the namespace itself (creating something in a missing ns). */
export function isNamespaceNotFound(err: unknown, namespace?: string): boolean {
  if (!(err instanceof KubeApiError) || err.status !== 404) return false;
  if (err.details?.kind === 'namespaces') return namespace === undefined || err.details.name === namespace;
  return /namespaces? "[^"]*" not found/.test(err.message);
}

export function namespaceNotFound(namespace: string, cause?: unknown): KinjectError {
  return new KinjectError(`namespace "${namespace}" not found; check -n/--namespace (or the context's namespace)`, { cause });
}

/** Maps any error from a KubeClient call to a KinjectError (KinjectErrors pass through). */
export function apiError(err: unknown, action: ApiAction): KinjectError {
  if (err instanceof KinjectError) return err;
  const what = `${action.verb} ${action.resource}${action.name ? ` "${action.name}"` : ''}${where(action)}`;
  if (!(err instanceof KubeApiError)) {
    return new KinjectError(`${what} failed: ${errorMessage(err)}`, { cause: err });
  }
  if (err.status === 403) {
    return new KinjectError(`forbidden: cannot ${action.verb} ${action.resource}${where(action)} (${firstLine(err.message)}); ${RBAC_HINT}`, { cause: err });
  }
  if (err.status === 401) {
    return new KinjectError(`the Kubernetes API server rejected the credentials (401 Unauthorized); check --context/--kubeconfig or log in again`, {
      cause: err,
    });
  }
  if (action.namespace && isNamespaceNotFound(err, action.namespace)) return namespaceNotFound(action.namespace, err);
  if (err.status === 0) {
    return new KinjectError(`cannot reach the Kubernetes API server (${what}): ${firstLine(err.message)}; check --context/--kubeconfig`, { cause: err });
  }
  return new KinjectError(`${what} failed: ${firstLine(err.message)}`, { cause: err });
}

export function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > 300 ? line.slice(0, 297) + '...' : line;
}

export function isStatus(err: unknown, status: number): boolean {
  return err instanceof KubeApiError && err.status === status;
}
