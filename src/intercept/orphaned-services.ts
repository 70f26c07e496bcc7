// `kinject cleanup`'s intercept part (docs/inbound.md "Crash safety"): normally a session's router
// pod takes its session off the Service (the last one restores the selector) by itself. When it
// cannot (its restore token revoked, its Job deleted, the deadline passed), the Service keeps
// listing sessions that are not live. Here each such member is removed with the same `test`ed
// leave patch the pods use; the one that removes the last member puts the original selector back.
// Live members are kept. A concurrent writer makes a patch fail: re-read, decide again (bounded).

import { apiPath, type KubeClient } from '../kube/client.js';
import { isStatus } from '../kube/errors.js';
import type { V1Service } from '@kubernetes/client-node';
import { ANNOTATION_INTERCEPTED_BY, leavePatch, membersOf } from '../../protocol/intercept/service-patch.js';

export interface ReleasedService {
  namespace: string;
  service: string;
  /** the sessions taken off it */
  sessions: string[];
  /** true: no member is left and the original selector is back */
  restored: boolean;
}

export interface OrphanOptions {
  client: KubeClient;
  /** one namespace, or undefined for all */
  namespace?: string;
  /** is this session (namespace, id) live? */
  isLive: (namespace: string, session: string) => boolean;
}

/** Takes the sessions that are not live off every intercepted Service; lists what it changed. */
export async function releaseOrphanedServices(o: OrphanOptions): Promise<{ released: ReleasedService[]; visible: boolean }> {
  let items: V1Service[];
  try {
    items = (await o.client.request<{ items: V1Service[] }>('GET', o.namespace ? apiPath('', 'services', o.namespace) : '/api/v1/services')).items;
  } catch (err) {
    if (isStatus(err, 403)) return { released: [], visible: false };
    throw err;
  }
  const released: ReleasedService[] = [];
  for (const listed of items) {
    if (listed.metadata?.annotations?.[ANNOTATION_INTERCEPTED_BY] === undefined) continue;
    const namespace = listed.metadata!.namespace!;
    const name = listed.metadata!.name!;
    const path = apiPath('', 'services', namespace, name);
    const done: ReleasedService = { namespace, service: name, sessions: [], restored: false };
    let svc = listed;
    for (let attempt = 0; attempt < 20; attempt++) {
      const dead = membersOf(svc).find((m) => !o.isLive(namespace, m.session));
      if (!dead) break;
      const ops = leavePatch(svc, dead.session, name);
      if (!ops) break;
      try {
        svc = await o.client.patch<V1Service>(path, ops, { query: { fieldManager: 'kinject' } });
        done.sessions.push(dead.session);
      } catch (err) {
        if (isStatus(err, 404)) break; // deleted meanwhile
        // a `test` failed (someone wrote meanwhile: maybe the pod itself): read again
        if (!isStatus(err, 422) && !isStatus(err, 409)) throw err;
        svc = await o.client.request<V1Service>('GET', path);
      }
    }
    if (done.sessions.length) {
      done.restored = svc.metadata?.annotations?.[ANNOTATION_INTERCEPTED_BY] === undefined;
      released.push(done);
    }
  }
  return { released, visible: true };
}
