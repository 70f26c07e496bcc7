// The kube part of kinject: cluster access, the target workload, the session's proxy pod (a Job
// and a Secret), its environment, and cleanup. See docs/design.md.
export * from './client.js';
export * from './errors.js';
export * from './config.js';
export * from './target.js';
export * from './proxy-job.js';
export * from './pod-status.js';
export * from './pod-gone.js';
export * from './proxy-pod.js';
export * from './cleanup.js';
export * from './session-liveness.js';
export * from './session-lease.js';
export * from './session-inventory.js';
export * from './session-close.js';
export * from './env.js';
