// The checks before an intercept changes anything (docs/inbound.md "Checks before any change"):
// which Service selects the target's pods (--service when several do), that it can be switched
// (a selector, a cluster IP, not ExternalName, not internalTrafficPolicy Local), the ports asked
// for and the targetPort numbers the router will listen on, that filters are only put on HTTP
// ports, that nobody's intercept conflicts (the holder named), the restorer ServiceAccount, the
// permissions and the namespace's NetworkPolicies (network-policy.ts). Every problem is one line
// naming the fix; nothing is written.

import type { V1NetworkPolicy, V1Service } from '@kubernetes/client-node';
import { KinjectError } from '../errors.js';
import type { KubeClient } from '../kube/client.js';
import { apiPath } from '../kube/client.js';
import { isStatus } from '../kube/errors.js';
import type { ResolvedTarget } from '../kube/target.js';
import { DEFAULT_PROXY_PORT, LABEL_MANAGED_BY, MANAGED_BY_VALUE, sessionLabels } from '../kube/proxy-job.js';
import { ROUTER_HEALTH_PORT } from '../../protocol/intercept/commands.js';
import { joinConflict, originalSelectorOf, routerSelector, type InterceptMember } from '../../protocol/intercept/service-patch.js';
import { networkPolicyProblem } from './network-policy.js';
import type { InterceptRequest } from './flags.js';

export const RESTORER_SA = 'kinject-restorer';

export interface PlannedPort {
  servicePort: number;
  /** the targetPort's number: where the router listens in the pod */
  listen: number;
  /** the targetPort's name when the Service names it (the router container declares it) */
  targetPortName?: string;
  localPort: number;
}

export interface InterceptPlan {
  service: V1Service;
  name: string;
  ports: PlannedPort[];
  member: InterceptMember;
}

const HTTP_APP_PROTOCOLS = ['http', 'http2', 'h2c', 'kubernetes.io/h2c', 'kubernetes.io/ws', 'ws', 'grpc', 'grpc-web'];

function selects(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || !Object.keys(selector).length) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** the target's pod template labels (deployment/statefulset/replicaset template, or the pod's own) */
export async function templateLabels(client: KubeClient, namespace: string, target: ResolvedTarget): Promise<Record<string, string>> {
  const { kind, name } = target.ref;
  const path = kind === 'pod' ? apiPath('', 'pods', namespace, name) : apiPath('apps', `${kind}s`, namespace, name);
  const obj = await client.request<{
    metadata?: { labels?: Record<string, string> };
    spec?: { template?: { metadata?: { labels?: Record<string, string> } } };
  }>('GET', path);
  return (kind === 'pod' ? obj.metadata?.labels : obj.spec?.template?.metadata?.labels) ?? {};
}

async function findService(client: KubeClient, namespace: string, target: ResolvedTarget, labels: Record<string, string>, name?: string): Promise<V1Service> {
  if (name) {
    try {
      return await client.request<V1Service>('GET', apiPath('', 'services', namespace, name));
    } catch (err) {
      if (isStatus(err, 404))
        throw new KinjectError(`Service ${name} not found in namespace ${namespace}: check --service (kubectl -n ${namespace} get services)`);
      throw err;
    }
  }
  const list = await client.request<{ items: V1Service[] }>('GET', apiPath('', 'services', namespace));
  // kinject's own decoys (managed-by kinject) select the same pods: not candidates
  const found = list.items.filter(
    (s) => s.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE && selects(originalSelectorOf(s) ?? s.spec?.selector, labels),
  );
  if (!found.length) throw new KinjectError(`no Service in namespace ${namespace} selects the pods of ${target.display}: name one with --service NAME`);
  if (found.length > 1) {
    throw new KinjectError(
      `several Services select the pods of ${target.display} (${found.map((s) => s.metadata!.name).join(', ')}): pick one with --service NAME`,
    );
  }
  return found[0]!;
}

function checkService(svc: V1Service, name: string, target: ResolvedTarget, labels: Record<string, string>): void {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName')
    throw new KinjectError(`Service ${name} is an ExternalName Service (no pods behind it): intercept a Service with a selector`);
  const selector = originalSelectorOf(svc) ?? spec.selector;
  if (!selector || !Object.keys(selector).length) {
    throw new KinjectError(`Service ${name} has no selector (its endpoints are managed by hand): intercept a Service with a selector`);
  }
  if (spec.clusterIP === 'None')
    throw new KinjectError(
      `Service ${name} is headless (clusterIP: None): clients reach pod IPs directly, which kinject cannot take over; intercept a Service with a cluster IP`,
    );
  if (spec.internalTrafficPolicy === 'Local') {
    throw new KinjectError(
      `Service ${name} has internalTrafficPolicy: Local: clients on other nodes would not reach the router; set it to Cluster while intercepting`,
    );
  }
  if (!selects(selector, labels)) throw new KinjectError(`Service ${name} does not select the pods of ${target.display}: check --service or --target`);
}

function planPorts(svc: V1Service, name: string, target: ResolvedTarget, req: InterceptRequest): PlannedPort[] {
  const ports = svc.spec?.ports ?? [];
  const personal = req.headers.length > 0 || req.pathPrefix !== undefined;
  const listed = ports.map((p) => `${p.port}${p.name ? ` (${p.name})` : ''}`).join(', ');
  return req.ports.map((want) => {
    const p = ports.find((x) => (typeof want.port === 'number' ? x.port === want.port : x.name === want.port));
    if (!p) throw new KinjectError(`Service ${name} has no port ${want.port}: its ports are ${listed || 'none'}`);
    if ((p.protocol ?? 'TCP') !== 'TCP') throw new KinjectError(`Service ${name} port ${p.port} is ${p.protocol}: only TCP ports can be intercepted`);
    const app = p.appProtocol?.toLowerCase();
    const tls = /^(https|tls)(-|$)/.test(p.name ?? '') || (app !== undefined && !HTTP_APP_PROTOCOLS.includes(app));
    if (personal && tls) {
      throw new KinjectError(
        `Service ${name} port ${p.port} is not plain HTTP (${app ? `appProtocol ${app}` : `named ${p.name}`}): --header and --path-prefix need HTTP; intercept it globally (without them)`,
      );
    }
    let listen: number;
    let targetPortName: string | undefined;
    const tp = p.targetPort ?? p.port;
    if (typeof tp === 'number' || /^\d+$/.test(String(tp))) listen = Number(tp);
    else {
      targetPortName = String(tp);
      const cp = target.container.ports?.find((c) => c.name === targetPortName);
      if (!cp)
        throw new KinjectError(
          `Service ${name} port ${p.port} targets the port named ${targetPortName}, which container ${target.container.name} of ${target.display} does not declare`,
        );
      listen = cp.containerPort;
    }
    if ([DEFAULT_PROXY_PORT, DEFAULT_PROXY_PORT + 1, ROUTER_HEALTH_PORT].includes(listen)) {
      throw new KinjectError(
        `Service ${name} port ${p.port} targets port ${listen}, which the proxy pod uses itself (${DEFAULT_PROXY_PORT}, ${DEFAULT_PROXY_PORT + 1}, ${ROUTER_HEALTH_PORT}): not supported yet`,
      );
    }
    return { servicePort: p.port, listen, targetPortName, localPort: want.localPort ?? listen };
  });
}

async function checkAccess(client: KubeClient, namespace: string): Promise<void> {
  const checks: { verb: string; resource: string; group?: string; subresource?: string; name?: string; why: string }[] = [
    { verb: 'patch', resource: 'services', why: 'switch the Service to the router' },
    { verb: 'create', resource: 'services', why: 'create the decoy Service' },
    { verb: 'create', resource: 'serviceaccounts', subresource: 'token', name: RESTORER_SA, why: "mint the pod's restore token" },
  ];
  for (const c of checks) {
    const review = await client.request<{ status?: { allowed?: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: { namespace, verb: c.verb, resource: c.resource, group: c.group ?? '', subresource: c.subresource, name: c.name } },
      },
    });
    if (!review.status?.allowed) {
      const what = `${c.resource}${c.subresource ? `/${c.subresource}` : ''}`;
      throw new KinjectError(`--intercept needs permission to ${c.verb} ${what} in namespace ${namespace} (to ${c.why}): apply rbac/kinject-role.yaml there`);
    }
  }
  try {
    await client.request('GET', apiPath('', 'serviceaccounts', namespace, RESTORER_SA));
  } catch (err) {
    if (isStatus(err, 404)) {
      throw new KinjectError(
        `--intercept needs the ServiceAccount ${RESTORER_SA} in namespace ${namespace} (the proxy pod restores the Service with it): kubectl -n ${namespace} apply -f rbac/kinject-restorer.yaml`,
      );
    }
    if (!isStatus(err, 403)) throw err;
  }
}

async function checkNetworkPolicies(
  client: KubeClient,
  namespace: string,
  target: ResolvedTarget,
  name: string,
  labels: Record<string, string>,
  ports: PlannedPort[],
  apiServer: string | undefined,
): Promise<void> {
  let policies: V1NetworkPolicy[];
  try {
    policies = (await client.request<{ items: V1NetworkPolicy[] }>('GET', apiPath('networking.k8s.io', 'networkpolicies', namespace))).items;
  } catch (err) {
    if (isStatus(err, 403)) {
      throw new KinjectError(
        `--intercept needs permission to list networkpolicies in namespace ${namespace} (to check they let the router work): apply rbac/kinject-role.yaml there`,
      );
    }
    throw err;
  }
  const api = apiServer ? new URL(apiServer) : undefined;
  const problem = networkPolicyProblem({
    namespace,
    policies,
    targetDisplay: target.display,
    service: name,
    workloadLabels: labels,
    // the session id is not known yet: any value stands for it
    routerLabels: { ...sessionLabels('new'), ...routerSelector(name) },
    ports: ports.map((p) => ({ number: p.listen, ...(p.targetPortName ? { name: p.targetPortName } : {}) })),
    ...(api ? { apiServer: { host: api.hostname.replace(/^\[|\]$/g, ''), port: Number(api.port || 443) } } : {}),
  });
  if (problem) throw new KinjectError(problem);
}

export async function planIntercept(
  client: KubeClient,
  namespace: string,
  target: ResolvedTarget,
  req: InterceptRequest,
  me: Omit<InterceptMember, 'headers' | 'pathPrefix'>,
  apiServer?: string,
): Promise<InterceptPlan> {
  const labels = await templateLabels(client, namespace, target);
  const svc = await findService(client, namespace, target, labels, req.service);
  const name = svc.metadata!.name!;
  checkService(svc, name, target, labels);
  const ports = planPorts(svc, name, target, req);
  const member: InterceptMember = { ...me, headers: req.headers, ...(req.pathPrefix ? { pathPrefix: req.pathPrefix } : {}) };
  const conflict = joinConflict(svc, member, name);
  if (conflict) throw new KinjectError(conflict);
  await checkAccess(client, namespace);
  await checkNetworkPolicies(client, namespace, target, name, labels, ports, apiServer);
  return { service: svc, name, ports, member };
}
