// Would the namespace's NetworkPolicies block an intercept? (docs/inbound.md "Checks before any
// change"). Pure logic over the policy objects, run before the Service is touched: the router pods
// (labelled kinject.dev/router-for=<service>) must take on the intercepted port what the workload's
// pods take there (and their colleagues' routers' forwarded requests), the workload's pods must
// take the routers' pass-through, and the routers' egress must reach the workload's pods, the
// other routers and the API server. The answer is the first problem as one line naming the policy
// and what to allow, or undefined. Pods' IPs are not known: an ipBlock admits a pod only as /0.

import { BlockList, isIPv6 } from 'node:net';
import type { V1LabelSelector, V1NetworkPolicy, V1NetworkPolicyPeer, V1NetworkPolicyPort } from '@kubernetes/client-node';

export interface PolicyCheck {
  namespace: string;
  policies: V1NetworkPolicy[];
  /** e.g. deployment/api */
  targetDisplay: string;
  service: string;
  workloadLabels: Record<string, string>;
  routerLabels: Record<string, string>;
  /** the ports the router listens on (the targetPort's number, and its name when the Service names it) */
  ports: { number: number; name?: string }[];
  /** where the routers reach the API server (to restore the Service); host may be a name */
  apiServer?: { host: string; port: number };
}

type Labels = Record<string, string>;
type Direction = 'Ingress' | 'Egress';
interface Port {
  number: number;
  name?: string;
}

export function selectorMatches(sel: V1LabelSelector | undefined, labels: Labels): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key];
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value!)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value!)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function types(p: V1NetworkPolicy): Direction[] {
  const given = p.spec?.policyTypes as Direction[] | undefined;
  if (given?.length) return given;
  return p.spec?.egress?.length ? ['Ingress', 'Egress'] : ['Ingress'];
}

/** the policies that select a pod with these labels for one direction (it is isolated if any) */
function selecting(c: PolicyCheck, labels: Labels, dir: Direction): V1NetworkPolicy[] {
  return c.policies.filter((p) => types(p).includes(dir) && selectorMatches(p.spec?.podSelector, labels));
}

function portMatches(rulePorts: V1NetworkPolicyPort[] | undefined, port: Port): boolean {
  if (!rulePorts?.length) return true;
  return rulePorts.some((rp) => {
    if ((rp.protocol ?? 'TCP') !== 'TCP') return false;
    if (rp.port === undefined) return true;
    if (typeof rp.port === 'string' && !/^\d+$/.test(rp.port)) return rp.port === port.name;
    const n = Number(rp.port);
    return rp.endPort ? port.number >= n && port.number <= rp.endPort : port.number === n;
  });
}

/** a peer admits a pod of this namespace with these labels */
function peerAdmitsPod(peer: V1NetworkPolicyPeer, namespace: string, labels: Labels): boolean {
  if (peer.ipBlock) return /\/0$/.test(peer.ipBlock.cidr) && !peer.ipBlock.except?.length;
  if (peer.namespaceSelector && !selectorMatches(peer.namespaceSelector, { 'kubernetes.io/metadata.name': namespace })) return false;
  return selectorMatches(peer.podSelector, labels);
}

function peerAdmitsAddress(peer: V1NetworkPolicyPeer, host: string): boolean {
  if (!peer.ipBlock) return false;
  const [ip, bits] = peer.ipBlock.cidr.split('/');
  if (!/^[\d.:a-f]+$/i.test(host)) return true; // a host name: any ipBlock may be it
  const family = isIPv6(host) ? 'ipv6' : 'ipv4';
  if ((isIPv6(ip!) ? 'ipv6' : 'ipv4') !== family) return false;
  const inside = new BlockList();
  inside.addSubnet(ip!, Number(bits), family);
  const except = new BlockList();
  for (const e of peer.ipBlock.except ?? []) {
    const [eip, ebits] = e.split('/');
    if ((isIPv6(eip!) ? 'ipv6' : 'ipv4') === family) except.addSubnet(eip!, Number(ebits), family);
  }
  return inside.check(host, family) && !except.check(host, family);
}

interface Rule {
  policy: string;
  peers?: V1NetworkPolicyPeer[];
}

/** the rules of the selecting policies that cover this port (peers undefined: from/to everywhere) */
function rulesFor(c: PolicyCheck, labels: Labels, dir: Direction, port: Port): Rule[] | 'open' {
  const isolating = selecting(c, labels, dir);
  if (!isolating.length) return 'open';
  const out: Rule[] = [];
  for (const p of isolating) {
    const rules = dir === 'Ingress' ? (p.spec?.ingress ?? []) : (p.spec?.egress ?? []);
    for (const r of rules) {
      // raw API JSON says "from" (the client-node model class says "_from")
      const raw = r as { from?: V1NetworkPolicyPeer[]; _from?: V1NetworkPolicyPeer[]; to?: V1NetworkPolicyPeer[] };
      const peers = dir === 'Ingress' ? (raw.from ?? raw._from) : raw.to;
      if (portMatches(r.ports, port)) out.push({ policy: p.metadata?.name ?? '?', peers: peers?.length ? peers : undefined });
    }
  }
  return out;
}

function names(c: PolicyCheck, labels: Labels, dir: Direction): string {
  return selecting(c, labels, dir)
    .map((p) => p.metadata?.name)
    .join(', ');
}

function admitsPod(c: PolicyCheck, dst: Labels, dir: Direction, port: Port, other: Labels): boolean {
  const rules = rulesFor(c, dst, dir, port);
  return rules === 'open' || rules.some((r) => !r.peers || r.peers.some((p) => peerAdmitsPod(p, c.namespace, other)));
}

/** the first problem as one line, or undefined when the policies let the intercept work */
export function networkPolicyProblem(c: PolicyCheck): string | undefined {
  if (!c.policies.length) return undefined;
  const router = `kinject's router pods (label kinject.dev/router-for=${c.service})`;
  const pods = `the pods of ${c.targetDisplay}`;
  const see = 'see README "Intercepts and NetworkPolicies"';
  for (const port of c.ports) {
    const at = `port ${port.number}${port.name ? ` (${port.name})` : ''}`;
    // 1. clients: whatever reaches the workload on this port must reach the routers too
    const toRouter = rulesFor(c, c.routerLabels, 'Ingress', port);
    if (toRouter !== 'open' && !toRouter.some((r) => !r.peers)) {
      const toPods = rulesFor(c, c.workloadLabels, 'Ingress', port);
      if (toPods === 'open') {
        return `NetworkPolicy ${names(c, c.routerLabels, 'Ingress')} would block the Service's clients from ${router} on ${at}, which ${pods} accept from anyone: allow ingress to pods labelled kinject.dev/router-for=${c.service} on ${at} (${see})`;
      }
      const key = (p: V1NetworkPolicyPeer) => JSON.stringify(p, Object.keys(p).sort());
      const routerPeers = new Set(toRouter.flatMap((r) => r.peers!.map(key)));
      for (const r of toPods) {
        const missing = !r.peers || r.peers.some((p) => !routerPeers.has(key(p)));
        if (missing) {
          return `NetworkPolicy ${r.policy} lets clients reach ${pods} on ${at} but ${names(c, c.routerLabels, 'Ingress')} would block them from ${router}: allow the same ingress to pods labelled kinject.dev/router-for=${c.service} on ${at} (${see})`;
        }
      }
    }
    // 2. colleagues' routers forward requests matching their rules to this one
    if (!admitsPod(c, c.routerLabels, 'Ingress', port, c.routerLabels) || !admitsPod(c, c.routerLabels, 'Egress', port, c.routerLabels)) {
      const by = names(c, c.routerLabels, 'Ingress') || names(c, c.routerLabels, 'Egress');
      return `NetworkPolicy ${by} would block ${router} from each other on ${at} (two developers' intercepts forward to each other): allow ingress and egress between pods labelled kinject.dev/router-for=${c.service} on ${at} (${see})`;
    }
    // 3. pass-through: the routers send everything else to the workload's pods
    if (!admitsPod(c, c.workloadLabels, 'Ingress', port, c.routerLabels)) {
      return `NetworkPolicy ${names(c, c.workloadLabels, 'Ingress')} would block ${router} from ${pods} on ${at}, so requests without the header would fail: allow ingress from pods labelled kinject.dev/router-for=${c.service} to them on ${at} (${see})`;
    }
    if (!admitsPod(c, c.routerLabels, 'Egress', port, c.workloadLabels)) {
      return `NetworkPolicy ${names(c, c.routerLabels, 'Egress')} would block ${router} from reaching ${pods} on ${at}, so requests without the header would fail: allow egress from pods labelled kinject.dev/router-for=${c.service} to them on ${at} (${see})`;
    }
  }
  // 4. the routers restore the Service themselves through the API server
  const api = c.apiServer;
  if (api) {
    const ports = [{ number: api.port }, ...(api.port === 443 ? [] : [{ number: 443 }])];
    const egress = ports.map((p) => rulesFor(c, c.routerLabels, 'Egress', p));
    const reaches = egress.some((rules) => rules === 'open' || rules.some((r) => !r.peers || r.peers.some((p) => peerAdmitsAddress(p, api.host))));
    if (!reaches) {
      return `NetworkPolicy ${names(c, c.routerLabels, 'Egress')} would block ${router} from the API server (${api.host}:${api.port}), so they could not restore the Service after a crash: allow egress from them to it (${see})`;
    }
  }
  return undefined;
}
