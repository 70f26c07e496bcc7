// The mux: many TCP-like channels over one stream (the port-forward websocket to the proxy pod),
// with per-channel flow control, half-close and pings. Shared by the runner and the pod server.
export * from './frames.js';
export * from './channel.js';
export * from './session.js';
