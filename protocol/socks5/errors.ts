// The one error class of the SOCKS5 codec and client helpers. `code` says what went wrong;
// `replyCode` (when set) is the SOCKS reply a server should send before closing.

export type Socks5ErrorCode =
  | 'ESOCKS5_PROTOCOL' // malformed or unexpected bytes from the peer
  | 'ESOCKS5_INVALID' // a value we were asked to serialize cannot be encoded
  | 'ESOCKS5_NO_METHOD' // the server accepted none of the offered auth methods (0xFF)
  | 'ESOCKS5_AUTH' // username/password rejected
  | 'ESOCKS5_CLOSED' // the stream ended before a complete message arrived
  | 'ESOCKS5_TIMEOUT'; // a read did not complete in time

export class Socks5Error extends Error {
  readonly code: Socks5ErrorCode;
  readonly replyCode: number | undefined;

  constructor(code: Socks5ErrorCode, message: string, replyCode?: number) {
    super(message);
    this.name = 'Socks5Error';
    this.code = code;
    this.replyCode = replyCode;
  }
}

export function protocolError(message: string, replyCode?: number): Socks5Error {
  return new Socks5Error('ESOCKS5_PROTOCOL', message, replyCode);
}

export function invalidError(message: string): Socks5Error {
  return new Socks5Error('ESOCKS5_INVALID', message);
}
