// The SOCKS5 codec and client helpers, shared by the local front and the proxy pod server.
// Pure codec: constants, address, parse, serialize, reply-codes. Stream helpers: reader, client,
// server (the server-side handshake).

export * from './constants.js';
export * from './errors.js';
export * from './parsed.js';
export * from './ip.js';
export * from './address.js';
export * from './parse.js';
export * from './serialize.js';
export * from './reply-codes.js';
export * from './reader.js';
export * from './client.js';
export * from './server.js';
