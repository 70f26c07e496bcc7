// The intercept's plan for a session (before the proxy pod exists): the target resolved once, the
// checks of plan.ts, and what the pod gets for it (the router-for label, the router's ports).

import type { KubeAccess } from '../kube/config.js';
import type { ProxyInbound } from '../kube/proxy-job.js';
import { localUser } from '../kube/proxy-pod.js';
import { parseTarget, resolveTarget, type ResolvedTarget } from '../kube/target.js';
import { routerSelector } from '../../protocol/intercept/service-patch.js';
import type { InterceptRequest } from './flags.js';
import { planIntercept, type InterceptPlan } from './plan.js';

export interface SessionIntercept {
  target: ResolvedTarget;
  plan: InterceptPlan;
  podInbound: ProxyInbound;
}

export async function planSessionIntercept(
  access: KubeAccess,
  target: string,
  container: string | undefined,
  req: InterceptRequest,
): Promise<SessionIntercept> {
  const resolved = await resolveTarget(access.client, access.namespace, parseTarget(target), container);
  // the session id is not known yet: the member's session is filled in once the pod exists
  const plan = await planIntercept(access.client, access.namespace, resolved, req, { session: '', user: localUser() }, access.server);
  return {
    target: resolved,
    plan,
    podInbound: {
      labels: routerSelector(plan.name),
      ports: plan.ports.map((p) => ({ containerPort: p.listen, ...(p.targetPortName ? { name: p.targetPortName } : {}) })),
    },
  };
}
