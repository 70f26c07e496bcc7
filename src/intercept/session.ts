// An intercept's life on the runner (docs/inbound.md "Setup and end"): after the proxy pod (with
// the router label and ports) and the tunnel are up, it creates the decoy Service (the original
// selector, owned by the Job), waits until the pod reaches it, mints the pod's restore token
// (TokenRequest for kinject-restorer, bound to a Secret the Job owns), starts the routers in the pod (INTERCEPT),
// switches the Service with one tested JSON patch, reads the pod's events, prints the header, a
// curl line and the preview URL. At the end it asks the pod to restore the Service (INTERCEPT_END)
// and, if the pod cannot, restores it itself with the same tested patch. When self-healing loses
// the proxy pod, the runner hands the Service back to the workload at once (the dead router may
// not have), and sets the intercept up again on the replacement (attach()), unless someone else
// changed the Service since this runner switched it (their change ended the intercept, or came
// while the runner was away: managedFields), which it then leaves alone and says so.

import type { V1Service } from '@kubernetes/client-node';
import type { InterceptConfig, InterceptEvent } from '../../protocol/intercept/commands.js';
import { joinConflict, joinPatch, leavePatch, type InterceptMember } from '../../protocol/intercept/service-patch.js';
import { FIELD_MANAGERS, foreignWriteSince, lastWriteBy, originalSelectorOf } from '../../protocol/intercept/service-patch.js';
import { CMD, REPLY, StreamReader, parseReply, serializeRequest } from '../../protocol/socks5/index.js';
import type { CleanupStack } from '../child/cleanup-stack.js';
import { KinjectError } from '../errors.js';
import type { Upstream } from '../front/upstream.js';
import type { Logger } from '../log.js';
import { apiPath, KubeApiError, type KubeClient } from '../kube/client.js';
import type { KubeAccess } from '../kube/config.js';
import { isStatus } from '../kube/errors.js';
import { sessionLabels } from '../kube/proxy-job.js';
import type { ProxyPod } from '../kube/proxy-pod.js';
import { readEvents, sendIntercept, sendInterceptEnd } from './pod-commands.js';
import type { InterceptPlan } from './plan.js';
import { RESTORER_SA } from './plan.js';
import { startPreview } from './preview.js';
import { interceptEvents } from './records.js';

const PATCH = 'application/json-patch+json';

export function decoyName(session: string): string {
  return `kinject-${session}-orig`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function createDecoy(client: KubeClient, pod: ProxyPod, plan: InterceptPlan): Promise<V1Service> {
  const svc = plan.service;
  const body: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: decoyName(pod.id),
      namespace: pod.namespace,
      labels: sessionLabels(pod.id),
      annotations: { 'kinject.dev/decoy-for': plan.name },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: pod.jobName, uid: pod.jobUid, controller: false, blockOwnerDeletion: false }],
    },
    spec: {
      selector: originalSelectorOf(svc) ?? svc.spec!.selector!,
      ports: plan.ports.map((p) => {
        const orig = svc.spec!.ports!.find((x) => x.port === p.servicePort)!;
        return { name: `p${p.servicePort}`, port: p.servicePort, targetPort: orig.targetPort ?? p.servicePort, protocol: 'TCP' };
      }),
    },
  };
  return client.request<V1Service>('POST', apiPath('', 'services', pod.namespace), { body });
}

/** the pod reaches the decoy (kube-proxy has its rules): a CONNECT through the tunnel succeeds */
async function waitForDecoy(upstream: Upstream, ip: string, port: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const s = await upstream.open();
    s.on('error', () => {});
    s.write(serializeRequest(CMD.CONNECT, { type: 'ipv4', host: ip, port }));
    const reader = new StreamReader(s);
    const reply = await reader.read(parseReply, { timeoutMs: 10_000 }).catch(() => undefined);
    s.destroy();
    if (reply?.reply === REPLY.SUCCEEDED) return;
    if (Date.now() > until)
      throw new KinjectError(
        `the decoy Service ${ip}:${port} did not become reachable from the proxy pod within ${timeoutMs / 1000} s: are the workload's pods ready?`,
      );
    await sleep(500);
  }
}

/**
 * A token for kinject-restorer, bound to an empty Secret kinject-<id>-restore owned by the Job (a
 * token cannot be bound to a pod of another ServiceAccount): when the Job goes, the garbage
 * collector deletes the Secret and the token stops working.
 */
async function restoreToken(client: KubeClient, pod: ProxyPod): Promise<string> {
  const anchor = await client.request<{ metadata?: { uid?: string; name?: string } }>('POST', apiPath('', 'secrets', pod.namespace), {
    body: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: `kinject-${pod.id}-restore`,
        namespace: pod.namespace,
        labels: sessionLabels(pod.id),
        ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: pod.jobName, uid: pod.jobUid, controller: false, blockOwnerDeletion: false }],
      },
      type: 'Opaque',
    },
  });
  const tr = await client.request<{ status?: { token?: string } }>('POST', `${apiPath('', 'serviceaccounts', pod.namespace, RESTORER_SA)}/token`, {
    body: {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 86400, boundObjectRef: { apiVersion: 'v1', kind: 'Secret', name: anchor.metadata!.name!, uid: anchor.metadata!.uid! } },
    },
  });
  if (!tr.status?.token) throw new KinjectError(`the API server returned no token for ServiceAccount ${RESTORER_SA}`);
  return tr.status.token;
}

/** the cluster CA as pods see it (ConfigMap kube-root-ca.crt), else the kubeconfig's */
async function clusterCa(access: KubeAccess, namespace: string): Promise<string> {
  try {
    const cm = await access.client.request<{ data?: Record<string, string> }>('GET', apiPath('', 'configmaps', namespace, 'kube-root-ca.crt'));
    if (cm.data?.['ca.crt']) return cm.data['ca.crt'];
  } catch {
    // no permission: the kubeconfig's CA below
  }
  const cluster = access.kc.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  if (cluster?.caFile) return (await import('node:fs')).readFileSync(cluster.caFile, 'utf8');
  throw new KinjectError('cannot find the cluster CA for the proxy pod (no ConfigMap kube-root-ca.crt access, no CA in the kubeconfig)');
}

/** one JSON patch with `test` ops; re-read and retried when someone wrote in between. The patched Service, or undefined when build() had nothing to do */
async function patchTested(
  client: KubeClient,
  namespace: string,
  name: string,
  build: (svc: V1Service) => unknown[] | undefined,
): Promise<V1Service | undefined> {
  for (let attempt = 0; ; attempt++) {
    const svc = await client.request<V1Service>('GET', apiPath('', 'services', namespace, name));
    const ops = build(svc);
    if (!ops) return undefined;
    try {
      return await client.request<V1Service>('PATCH', apiPath('', 'services', namespace, name), {
        body: ops,
        contentType: PATCH,
        query: { fieldManager: 'kinject' },
      });
    } catch (err) {
      const conflict = err instanceof KubeApiError && (err.status === 409 || err.status === 422);
      if (!conflict || attempt >= 10) throw err;
      await sleep(100 + attempt * 100);
    }
  }
}

/** the pod's readiness probe passes: its routers listen, the Service may select it */
async function waitForReady(client: KubeClient, ns: string, name: string, timeoutMs = 60_000, ready = true): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = await client.request<{ status?: { conditions?: { type: string; status: string }[] } }>('GET', apiPath('', 'pods', ns, name));
    if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === (ready ? 'True' : 'False'))) return;
    if (Date.now() > until)
      throw new KinjectError(`the proxy pod ${name} did not become ${ready ? '' : 'un'}ready (its router's readiness probe) within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

export interface StartInterceptArgs {
  access: KubeAccess;
  pod: ProxyPod;
  plan: InterceptPlan;
  upstream: Upstream;
  cleanup: CleanupStack;
  log: Logger;
  graceSeconds: number;
}

/** the proxy pod's replacements (session/self-healing.ts): the intercept follows them */
export interface PodReplacements {
  onLost(fn: (pod: ProxyPod) => void): void;
  onReplaced(fn: (pod: ProxyPod) => void): void;
}

export async function startIntercept(a: StartInterceptArgs & { replacements?: PodReplacements }): Promise<void> {
  const { access, plan, upstream, cleanup, log } = a;
  const client = access.client;
  const ns = a.pod.namespace;
  /** the pod that holds the intercept now (a replacement takes over: attach()) */
  let pod = a.pod;
  let ended = false;
  let reading = false;
  /** the pod server got INTERCEPT once: from then on the end asks it to restore */
  let started = false;
  /** when this runner switched the Service (the API server's time, from managedFields) */
  let joinedAt: string | undefined;
  /** someone else changed the Service and the intercept ended: it is not taken up again */
  let changedBy: string | undefined;

  const onEvent = (e: InterceptEvent) => {
    if (e.type === 'record') {
      const { type: _t, ...record } = e;
      const localPort = plan.ports.length === 1 ? plan.ports[0]!.localPort : undefined;
      interceptEvents.emit('record', { session: pod.id, service: plan.name, record, ...(localPort ? { localPort } : {}) });
      log.event('intercept-request', { method: record.method, path: record.path, status: record.status, durationMs: record.durationMs });
      log.debug(`intercepted ${record.method} ${record.path} -> ${record.status} (${record.durationMs} ms)`);
    } else if (e.type === 'warning') log.warn(e.line);
    else if (e.type === 'service-changed') {
      changedBy = `${e.by} at ${e.at}`;
      log.warn(
        `Service ${plan.name} was changed by ${e.by} at ${e.at} (${e.what}): the intercept ended and their change is kept (Argo CD: ignoreDifferences on /spec/selector or pause selfHeal; Flux: kustomize.toolkit.fluxcd.io/reconcile: disabled)`,
      );
    } else if (e.type === 'intercept-ended') {
      ended = true;
      log.event('intercept-ended', { why: e.why });
    }
  };
  const events = async () => {
    reading = true;
    while (!ended) {
      try {
        await readEvents(await upstream.open(), onEvent);
      } catch {
        // the tunnel is reconnecting, or closed
      }
      await sleep(1000);
    }
    reading = false;
  };

  /** everything the intercept needs on one proxy pod, then the Service switched (or joined) to it */
  const attach = async (p: ProxyPod, again = false) => {
    const podObj = await client.request<{ status?: { podIP?: string } }>('GET', apiPath('', 'pods', ns, p.podName));
    const podIp = podObj.status?.podIP;
    if (!podIp) throw new KinjectError(`the proxy pod ${p.podName} has no IP yet`);
    const decoy = await createDecoy(client, p, plan);
    await waitForDecoy(upstream, decoy.spec!.clusterIP!, plan.ports[0]!.servicePort);
    const member: InterceptMember & { podIp: string } = { ...plan.member, session: p.id, podIp };
    const config: InterceptConfig = {
      session: p.id,
      user: plan.member.user,
      namespace: ns,
      service: plan.name,
      decoyHost: decoy.spec!.clusterIP!,
      ports: plan.ports.map((x) => ({ servicePort: x.servicePort, listen: x.listen, localPort: x.localPort, decoyPort: x.servicePort })),
      headers: plan.member.headers,
      ...(plan.member.pathPrefix ? { pathPrefix: plan.member.pathPrefix } : {}),
      apiToken: await restoreToken(client, p),
      apiCa: await clusterCa(access, ns),
      graceSeconds: a.graceSeconds,
    };
    await sendIntercept(await upstream.open(), config).catch((err: Error) => {
      throw new KinjectError(`the proxy pod could not start the intercept: ${err.message}`);
    });
    started = true;
    await waitForReady(client, ns, p.podName);
    pod = p;
    ended = false;
    if (!reading) void events();
    const joined = await patchTested(client, ns, plan.name, (svc) => {
      const conflict = joinConflict(svc, member, plan.name);
      if (conflict) throw new KinjectError(conflict);
      const theirs = again && joinedAt ? foreignWriteSince(svc.metadata?.managedFields, FIELD_MANAGERS, joinedAt) : undefined;
      if (theirs)
        throw new KinjectError(
          `Service ${plan.name} was changed by ${theirs.by} at ${theirs.at} since kinject switched it; restart kinject to intercept it again`,
        );
      return joinPatch(svc, member, plan.name) as unknown[];
    }).catch((err: unknown) => {
      if (err instanceof KinjectError) throw err;
      if (isStatus(err, 403))
        throw new KinjectError(`--intercept needs permission to patch Service ${plan.name} in namespace ${ns}: apply rbac/kinject-role.yaml there`);
      throw new KinjectError(`switching Service ${plan.name} failed: ${(err as Error).message}`);
    });
    joinedAt = lastWriteBy(joined?.metadata?.managedFields, 'kinject') ?? joinedAt;
  };

  cleanup.add('decoy Service', async () => {
    await client.request('DELETE', apiPath('', 'services', ns, decoyName(pod.id))).catch(() => {});
  });
  // from the switch on the pod owns every change; the runner only restores if the pod cannot
  cleanup.add(`intercept of Service ${plan.name}`, async () => {
    if (!started) return;
    try {
      if (!ended) {
        await sendInterceptEnd(await upstream.open());
        // the kubelet has seen the router drain (readiness false): the endpoints drop it before the pod goes
        await waitForReady(client, ns, pod.podName, 30_000, false).catch((err: Error) => log.debug(err.message));
        await sleep(2000);
      }
    } catch (err) {
      log.warn(`the proxy pod could not restore Service ${plan.name} (${(err as Error).message}); restoring it from here`);
      await patchTested(client, ns, plan.name, (svc) => leavePatch(svc, pod.id, plan.name)).catch((e: Error) =>
        log.warn(`restoring Service ${plan.name} failed: ${e.message}; run kinject cleanup -n ${ns}`),
      );
    }
    ended = true;
    log.info(`Service ${plan.name} restored`);
  });
  await attach(pod);

  // the proxy pod lost (deleted, evicted): the Service goes back to the workload at once (its
  // router may be dead without having restored it), and the intercept moves to the new pod
  let moving = Promise.resolve();
  a.replacements?.onLost((lost) => {
    moving = moving.then(async () => {
      if (lost !== pod) return;
      ended = true;
      await patchTested(client, ns, plan.name, (svc) => leavePatch(svc, lost.id, plan.name)).then(
        (changed) => changed && log.debug(`Service ${plan.name} handed back to the workload while the proxy pod is replaced`),
        (err: Error) => log.warn(`restoring Service ${plan.name} after the proxy pod was lost failed: ${err.message}; run kinject cleanup -n ${ns}`),
      );
    });
  });
  a.replacements?.onReplaced((fresh) => {
    moving = moving.then(async () => {
      if (changedBy) {
        log.debug(`not intercepting Service ${plan.name} again through ${fresh.podName}: ${changedBy} changed it`);
        return;
      }
      try {
        await attach(fresh, true);
        log.warn(`intercepting Service ${plan.name} again through the new proxy pod ${fresh.podName}`);
      } catch (err) {
        log.warn(`the intercept could not move to the new proxy pod (${(err as Error).message}): Service ${plan.name} stays with the workload`);
      }
    });
  });

  const svcIp = plan.service.spec!.clusterIP!;
  const ports = plan.ports.map((p) => `${p.servicePort} -> 127.0.0.1:${p.localPort}`).join(', ');
  const headers = plan.member.headers;
  if (!headers.length && !plan.member.pathPrefix) {
    log.info(`intercepting Service ${plan.name} globally (${ports}): every connection it gets goes to the local process`);
    return;
  }
  const rule = [...headers.map((h) => `header ${h.name}: ${h.value}`), ...(plan.member.pathPrefix ? [`path prefix ${plan.member.pathPrefix}`] : [])].join(', ');
  log.info(`intercepting Service ${plan.name} (${ports}) for requests with ${rule}; everyone else gets the workload`);
  const first = plan.ports[0]!;
  const hArgs = headers.map((h) => `-H '${h.name}: ${h.value}' `).join('');
  log.info(`try it in the cluster: curl ${hArgs}http://${plan.name}.${ns}:${first.servicePort}${plan.member.pathPrefix ?? '/'}`);
  const preview = await startPreview(upstream, svcIp, first.servicePort, headers);
  cleanup.add('intercept preview', () => preview.close());
  log.info(`preview (with the header added): ${preview.url}`);
}
