// Reads the proxy pod's status and the related events (pure functions): is it running, still
// starting (and what it is doing), stalled for a reason the cluster gives (image pull, scheduling,
// container config, volume mount), or failed for good (image never pullable, init container
// failed, pod creation forbidden by RBAC, quota or admission).

import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { admissionRefusal } from './admission-refusal.js';

export type PodState =
  /** the proxy container is running */
  | { kind: 'running' }
  /** still starting; `progress` is a line worth showing once */
  | { kind: 'starting'; progress: string }
  /** not getting anywhere for now; may resolve itself, so it fails only at the timeout */
  | { kind: 'stalled'; reason: string }
  /** cannot succeed: fail now */
  | { kind: 'failed'; reason: string };

/** Waiting reasons that never resolve by themselves. */
const FATAL_WAITING = new Set(['ErrImageNeverPull', 'InvalidImageName']);
/** Waiting reasons that may resolve (the image appears, the ConfigMap is created, ...). */
const STALL_WAITING = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'CrashLoopBackOff',
  'ImageInspectError',
  'RegistryUnavailable',
  'SignatureValidationFailed',
]);

function oneLine(s: string | undefined): string {
  return (s ?? '').replace(/\s+/g, ' ').trim();
}

function imageOf(pod: V1Pod, name: string, init: boolean): string {
  const list = init ? pod.spec?.initContainers : pod.spec?.containers;
  return list?.find((c) => c.name === name)?.image ?? '?';
}

function describeWaiting(pod: V1Pod, cs: V1ContainerStatus, init: boolean): PodState | undefined {
  const w = cs.state?.waiting;
  if (!w?.reason) return undefined;
  const who = init ? `init container "${cs.name}"` : `container "${cs.name}"`;
  const msg = oneLine(w.message);
  const image = cs.image || imageOf(pod, cs.name, init);
  if (FATAL_WAITING.has(w.reason)) {
    return { kind: 'failed', reason: `${who}: ${w.reason} for image "${image}"${msg ? `: ${msg}` : ''}` };
  }
  if (w.reason === 'ImagePullBackOff' || w.reason === 'ErrImagePull') {
    return { kind: 'stalled', reason: `${who}: ${w.reason}: image "${image}" cannot be pulled${msg ? `: ${msg}` : ''}` };
  }
  if (STALL_WAITING.has(w.reason)) {
    return { kind: 'stalled', reason: `${who}: ${w.reason}${msg ? `: ${msg}` : ''}` };
  }
  return undefined;
}

function describeTerminated(cs: V1ContainerStatus, init: boolean): string | undefined {
  const t = cs.state?.terminated ?? (cs.state?.waiting ? undefined : cs.lastState?.terminated);
  if (!t) return undefined;
  const who = init ? `init container "${cs.name}"` : `container "${cs.name}"`;
  const msg = oneLine(t.message);
  return `${who} exited with code ${t.exitCode}${t.reason ? ` (${t.reason})` : ''}${msg ? `: ${msg}` : ''}`;
}

/** What the pod is doing, from its status alone. */
export function podState(pod: V1Pod, proxyContainer?: string): PodState {
  const st = pod.status ?? {};
  const phase = st.phase ?? 'Pending';
  const inits = st.initContainerStatuses ?? [];
  const mains = st.containerStatuses ?? [];
  const main = (proxyContainer ? mains.find((c) => c.name === proxyContainer) : undefined) ?? mains[0];

  if (pod.metadata?.deletionTimestamp) return { kind: 'failed', reason: 'the proxy pod is being deleted' };
  if (phase === 'Failed' || phase === 'Succeeded') {
    for (const cs of inits) {
      const t = cs.state?.terminated;
      if (t && t.exitCode !== 0) return { kind: 'failed', reason: describeTerminated(cs, true)! };
    }
    if (main) {
      const d = describeTerminated(main, false);
      if (d) return { kind: 'failed', reason: d };
    }
    const why = [st.reason, oneLine(st.message)].filter(Boolean).join(': ');
    return { kind: 'failed', reason: `the proxy pod ${phase === 'Failed' ? 'failed' : 'exited'}${why ? `: ${why}` : ''}` };
  }
  if (main?.state?.running) return { kind: 'running' };
  if (main?.state?.terminated) return { kind: 'failed', reason: describeTerminated(main, false)! };

  for (const cs of inits) {
    const t = cs.state?.terminated;
    if (t && t.exitCode !== 0) return { kind: 'failed', reason: describeTerminated(cs, true)! };
    const w = describeWaiting(pod, cs, true);
    if (w) return w;
  }
  if (main) {
    const w = describeWaiting(pod, main, false);
    if (w) return w;
  }
  const sched = st.conditions?.find((c) => c.type === 'PodScheduled');
  if (sched?.status === 'False') {
    return { kind: 'stalled', reason: `${sched.reason ?? 'Unschedulable'}: ${oneLine(sched.message) || 'the scheduler cannot place the pod'}` };
  }
  const runningInit = inits.find((c) => c.state?.running);
  if (runningInit) return { kind: 'starting', progress: `running init container ${runningInit.name}` };
  if (!sched) return { kind: 'starting', progress: 'waiting for the scheduler' };
  return { kind: 'starting', progress: 'starting container' };
}

/** Events (newest last) that say more than the status: pulls, mount failures, failed creates. */
export function eventState(events: CoreV1Event[]): PodState | undefined {
  const sorted = [...events].sort((a, b) => eventTime(a) - eventTime(b));
  let out: PodState | undefined;
  for (const e of sorted) {
    const msg = oneLine(e.message);
    switch (e.reason) {
      case 'FailedCreate':
        // the Job controller could not create the pod: RBAC, quota, admission (PodSecurity, ...)
        out = { kind: 'failed', reason: admissionRefusal(msg) ?? `cannot create the proxy pod: ${msg.replace(/^Error creating: /, '')}` };
        break;
      case 'FailedMount':
      case 'FailedAttachVolume':
        out = { kind: 'stalled', reason: `${e.reason}: ${msg}` };
        break;
      case 'FailedScheduling':
        out = { kind: 'stalled', reason: `Unschedulable: ${msg}` };
        break;
      case 'Pulling':
        out = { kind: 'starting', progress: msg.replace(/^Pulling image/, 'pulling image') };
        break;
      case 'Pulled':
      case 'Created':
      case 'Started':
      case 'Scheduled':
        out = undefined;
        break;
      default:
        // any other warning (FailedCreatePodSandBox, BackOff, ...) is the best reason we have
        if (e.type === 'Warning' && e.reason) out = { kind: 'stalled', reason: `${e.reason}: ${msg}` };
        break;
    }
  }
  return out;
}

function eventTime(e: CoreV1Event): number {
  const t = (e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp) as unknown;
  const ms = t instanceof Date ? t.getTime() : typeof t === 'string' ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}
