// The router's rules and decisions live in protocol/intercept/rules.ts (the runner parses
// --header with the same code); re-exported here for the router's modules.
export * from '../../protocol/intercept/rules.js';
