// The tunnel to the proxy pod: port-forward streams (portforward.ts) and the pre-authenticated
// pool that is the cluster Upstream of the front (pool.ts).
export * from './portforward.js';
export * from './pod-tunnel.js';
