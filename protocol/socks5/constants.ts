// SOCKS5 protocol constants: RFC 1928 (SOCKS5), RFC 1929 (username/password auth) and
// Tor's RESOLVE / RESOLVE_PTR command extensions, as kinject speaks them (docs/design.md).
// kinject's own commands (ENV, HEARTBEAT, MUX) are in ../commands.ts.
import { kinjectCommandName } from '../commands.js';

export const SOCKS_VERSION = 0x05;
/** Sub-negotiation version of RFC 1929 username/password auth. */
export const AUTH_VERSION = 0x01;

/** Authentication methods (greeting / method choice). */
export const METHOD = {
  NO_AUTH: 0x00,
  GSSAPI: 0x01,
  USERPASS: 0x02,
  NO_ACCEPTABLE: 0xff,
} as const;

/** Request commands. RESOLVE and RESOLVE_PTR are Tor's extensions; kinject's own are in ../commands.ts. */
export const CMD = {
  CONNECT: 0x01,
  BIND: 0x02,
  UDP_ASSOCIATE: 0x03,
  RESOLVE: 0xf0,
  RESOLVE_PTR: 0xf1,
} as const;

/** Address types. */
export const ATYP = {
  IPV4: 0x01,
  DOMAIN: 0x03,
  IPV6: 0x04,
} as const;

/** Reply codes (REP field). */
export const REPLY = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

/** RFC 1929 status byte. Any non-zero value is a failure. */
export const AUTH_STATUS = {
  SUCCESS: 0x00,
  FAILURE: 0x01,
} as const;

/** The RFC 1929 username kinject always uses; the password is the session token. */
export const KINJECT_USERNAME = 'kinject';

/** Human-readable command name, for log lines. */
export function commandName(cmd: number): string {
  switch (cmd) {
    case CMD.CONNECT:
      return 'CONNECT';
    case CMD.BIND:
      return 'BIND';
    case CMD.UDP_ASSOCIATE:
      return 'UDP_ASSOCIATE';
    case CMD.RESOLVE:
      return 'RESOLVE';
    case CMD.RESOLVE_PTR:
      return 'RESOLVE_PTR';
    default:
      return kinjectCommandName(cmd) ?? `CMD_0x${cmd.toString(16).padStart(2, '0')}`;
  }
}
