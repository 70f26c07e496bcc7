// What teleport publishes for a namespace, from its Services and EndpointSlices: one entry per
// Service (names svc.ns, svc.ns.svc, svc.ns.svc.cluster.local, and svc alone for the first
// namespace) and one per pod of a headless Service that has a hostname (pod.svc.ns..., as
// StatefulSets have), each with the TCP ports to listen on and where each one goes in the cluster:
// the ClusterIP (stable while the Service exists, whatever its pods do), the ExternalName, or
// for a headless Service a ready pod's IP with the port its EndpointSlice resolved. UDP and SCTP
// ports are not relayed (the tunnel carries TCP): an entry lists them as notRelayed ("53/UDP"),
// and a Service with no TCP port at all is an entry without ports (no address, no hosts line).
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { apiError } from '../kube/errors.js';

export interface EntryPort {
  /** the port listened on (the Service's port) */
  port: number;
  /** where a connection goes */
  host: string;
  targetPort: number;
}

export interface Entry {
  /** what the address belongs to: svc/NS/NAME or pod/NS/SVC/HOSTNAME */
  key: string;
  names: string[];
  ports: EntryPort[];
  /** the ports kinject does not relay, as PORT/PROTOCOL (UDP, SCTP) */
  notRelayed: string[];
}

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}
interface Service {
  metadata: { name: string; namespace: string };
  spec: { type?: string; clusterIP?: string; externalName?: string; ports?: ServicePort[] };
}
interface EndpointSlice {
  metadata: { labels?: Record<string, string> };
  addressType?: string;
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
  endpoints?: { addresses: string[]; hostname?: string; conditions?: { ready?: boolean } }[] | null;
}

export function serviceNames(svc: string, ns: string, short: boolean): string[] {
  return [...(short ? [svc] : []), `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`];
}

/** The entries of one namespace (pure: the lists come from listNamespace). */
export function entriesOf(ns: string, services: Service[], slices: EndpointSlice[], first: boolean): Entry[] {
  const out: Entry[] = [];
  for (const s of services) {
    const name = s.metadata.name;
    const tcp = (s.spec.ports ?? []).filter((p) => (p.protocol ?? 'TCP') === 'TCP');
    const notRelayed = (s.spec.ports ?? []).filter((p) => (p.protocol ?? 'TCP') !== 'TCP').map((p) => `${p.port}/${p.protocol}`);
    const key = `svc/${ns}/${name}`;
    if (!tcp.length || (s.spec.type === 'ExternalName' && !s.spec.externalName)) {
      if (notRelayed.length) out.push({ key, names: serviceNames(name, ns, first), ports: [], notRelayed });
      continue;
    }
    if (s.spec.type === 'ExternalName') {
      out.push({
        key,
        names: serviceNames(name, ns, first),
        ports: tcp.map((p) => ({ port: p.port, host: s.spec.externalName!, targetPort: p.port })),
        notRelayed,
      });
      continue;
    }
    if (s.spec.clusterIP && s.spec.clusterIP !== 'None') {
      out.push({
        key,
        names: serviceNames(name, ns, first),
        ports: tcp.map((p) => ({ port: p.port, host: s.spec.clusterIP!, targetPort: p.port })),
        notRelayed,
      });
      continue;
    }
    // headless: its pods' addresses, with the ports the EndpointSlices resolved (a named targetPort)
    const mine = slices.filter((sl) => sl.metadata.labels?.['kubernetes.io/service-name'] === name && sl.addressType !== 'IPv6');
    const portOf = (p: ServicePort): number => {
      for (const sl of mine) {
        const hit = (sl.ports ?? []).find((x) => (x.name ?? '') === (p.name ?? '') && x.port);
        if (hit?.port) return hit.port;
      }
      return typeof p.targetPort === 'number' ? p.targetPort : p.port;
    };
    const endpoints = mine.flatMap((sl) => sl.endpoints ?? []).filter((e) => e.addresses.length && e.conditions?.ready !== false);
    const ip = endpoints[0]?.addresses[0];
    out.push({
      key,
      names: serviceNames(name, ns, first),
      notRelayed,
      // no ready pod: the listener still exists and refuses nothing; its connections go to the name, which fails like in the cluster
      ports: tcp.map((p) => ({ port: p.port, host: ip ?? `${name}.${ns}.svc`, targetPort: portOf(p) })),
    });
    const seen = new Set<string>();
    for (const e of endpoints) {
      if (!e.hostname || seen.has(e.hostname)) continue;
      seen.add(e.hostname);
      const base = `${e.hostname}.${name}`;
      out.push({
        key: `pod/${ns}/${name}/${e.hostname}`,
        names: [...(first ? [base] : []), `${base}.${ns}`, `${base}.${ns}.svc`, `${base}.${ns}.svc.cluster.local`],
        ports: tcp.map((p) => ({ port: p.port, host: e.addresses[0], targetPort: portOf(p) })),
        notRelayed,
      });
    }
  }
  return out;
}

/** Lists one namespace's Services and EndpointSlices; one-line errors (forbidden, no namespace). */
export async function listNamespace(client: KubeClient, ns: string, first: boolean): Promise<Entry[]> {
  const path = (p: string) => p.replace('NS', encodeURIComponent(ns));
  let services: { items: Service[] };
  try {
    services = await client.get<{ items: Service[] }>(path('/api/v1/namespaces/NS/services'));
  } catch (err) {
    throw apiError(err, { verb: 'list', resource: 'services', namespace: ns });
  }
  let slices: EndpointSlice[] = [];
  if (services.items.some((s) => s.spec.clusterIP === 'None')) {
    try {
      slices = (await client.get<{ items: EndpointSlice[] }>(path('/apis/discovery.k8s.io/v1/namespaces/NS/endpointslices'))).items;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.status === 403)) throw apiError(err, { verb: 'list', resource: 'endpointslices', namespace: ns });
      // without that permission, headless Services go to their name (resolved in the pod)
    }
  }
  return entriesOf(ns, services.items, slices, first);
}
