// Whether a running proxy pod is gone for good, and why, from the pod object alone (pure): being
// deleted, exited, failed, or OOM-killed (its container went over its memory limit: the kernel
// killed the pod server, and with restartPolicy Never the pod is Failed). The tunnel
// (tunnel/pod-tunnel.ts) asks when it cannot reach the pod; the answer ends the session's line
// "the proxy pod NS/POD is gone (WHY)".

import type { V1Pod } from '@kubernetes/client-node';

/** Why the pod is gone (a few words), or undefined while it may still serve. */
export function podGoneReason(pod: V1Pod): string | undefined {
  // an OOM kill is the most useful reason, also when the Job's end already has the pod deleted
  const oom = oomKilled(pod);
  if (oom) return oom;
  if (pod.metadata?.deletionTimestamp) return 'being deleted';
  const phase = pod.status?.phase;
  if (phase === 'Succeeded') return 'exited';
  if (phase === 'Failed') return `failed${pod.status?.reason ? `: ${pod.status.reason}` : ''}`;
  return undefined;
}

/** "OOM-killed, over its 128Mi memory limit" when a container of the pod ended that way. */
function oomKilled(pod: V1Pod): string | undefined {
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.terminated?.reason !== 'OOMKilled') continue;
    const limit = pod.spec?.containers?.find((c) => c.name === cs.name)?.resources?.limits?.memory;
    return `OOM-killed, over its ${limit ? `${limit} ` : ''}memory limit`;
  }
  return undefined;
}
