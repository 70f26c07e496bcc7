// The tunnel to the proxy pod: port-forward streams (portforward.ts) and the one multiplexed
// tunnel over one of them that is the cluster Upstream of the front (pod-tunnel.ts).
export * from './portforward.js';
export * from './pod-tunnel.js';
