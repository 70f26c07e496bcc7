// The API server's refusal to create the proxy pod (the Job controller's FailedCreate event), as
// kinject's one line naming what refused it and what to do: a ResourceQuota with no room left or
// demanding fields a copied init container lacks, a LimitRange, a Pod Security level. Pure.

import { PROXY_RESOURCES } from './proxy-job.js';

const OURS = `requests ${PROXY_RESOURCES.requests.cpu} CPU/${PROXY_RESOURCES.requests.memory}, limits ${PROXY_RESOURCES.limits.cpu} CPU/${PROXY_RESOURCES.limits.memory}`;

/** One line for a pod creation refused by admission, or undefined when `message` is something else. */
export function admissionRefusal(message: string): string | undefined {
  const msg = message.replace(/^Error creating: /, '').replace(/^pods? "[^"]*" is forbidden: /, '');
  let m = /^exceeded quota: ([^,]+), (.*)$/.exec(msg);
  if (m) {
    return `ResourceQuota "${m[1]}" has no room for the proxy pod (${m[2]}); it needs ${OURS}: end other pods or ask for a larger quota`;
  }
  m = /^failed quota: ([^:]+): (must specify .*)$/.exec(msg);
  if (m) {
    return `ResourceQuota "${m[1]}" refuses the proxy pod: ${m[2]} (kinject sets them on the proxy container; init containers are copied from the workload as they are): set them in the workload's pod template`;
  }
  m = /^violates PodSecurity "([^"]+)": (.*)$/.exec(msg);
  if (m) {
    return `the namespace's Pod Security level "${m[1]}" refuses the proxy pod: ${m[2]}; kinject hardens the proxy container itself, so these fields come from the workload's pod template: set them there, or use a namespace with a lower level`;
  }
  if (/^(maximum|minimum) .* per (Container|Pod)|^.*limit to request ratio/.test(msg)) {
    return `a LimitRange in the namespace refuses the proxy pod: ${msg} (it needs ${OURS})`;
  }
  return undefined;
}
