// The direct transport's TLS (docs/design.md, "Direct transport"), both ends: the pod server's
// listener on its pod IP and the runner's connection to it. Mutual TLS 1.3 with one self-signed
// certificate per side, made per session (src/direct/session-certs.ts) and pinned: the peer's
// certificate is the only trust anchor, and its SHA-256 fingerprint must match too. A peer without
// a certificate, or with any other one, is refused during the handshake. Inside the TLS stream the
// pod server still asks for the session token (SOCKS5 + RFC 1929), as over the port-forward.
import { X509Certificate } from 'node:crypto';
import { type PeerCertificate, type TLSSocket, type TlsOptions, connect as tlsConnect } from 'node:tls';

export interface DirectTlsIdentity {
  /** this side's PEM certificate */
  cert: string;
  /** this side's PEM private key */
  key: string;
  /** the peer's PEM certificate: the only one accepted */
  peerCert: string;
}

/** The SHA-256 fingerprint of a PEM certificate, as node:tls prints it (AA:BB:...). */
export function pemFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

/** Options for tls.createServer: client certificates required, only the pinned one accepted. */
export function directServerOptions(id: DirectTlsIdentity): TlsOptions {
  return {
    cert: id.cert,
    key: id.key,
    ca: [id.peerCert],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  };
}

/** After the handshake: is the peer the pinned certificate? (the CA check alone would accept a re-signed copy of its subject) */
export function peerIsPinned(socket: TLSSocket, pinned: string): boolean {
  if (!socket.authorized) return false;
  const cert = socket.getPeerCertificate() as PeerCertificate | undefined;
  return Boolean(cert && cert.fingerprint256 === pinned);
}

export interface DirectConnectOptions extends DirectTlsIdentity {
  host: string;
  port: number;
  /** the TCP connect + handshake must be done within this long */
  timeoutMs: number;
}

/** A mutually authenticated TLS connection to the pod server's direct listener. */
export function connectDirect(o: DirectConnectOptions): Promise<TLSSocket> {
  const pinned = pemFingerprint(o.peerCert);
  return new Promise<TLSSocket>((resolve, reject) => {
    const socket = tlsConnect({
      host: o.host,
      port: o.port,
      cert: o.cert,
      key: o.key,
      ca: [o.peerCert],
      minVersion: 'TLSv1.3',
      rejectUnauthorized: true,
      servername: undefined,
      // the server's certificate names no host: the pin is the identity
      checkServerIdentity: (_host, cert) =>
        cert.fingerprint256 === pinned ? undefined : new Error(`the pod's direct listener showed certificate ${cert.fingerprint256}, not the session's`),
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS connection to ${o.host}:${o.port} within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
  });
}
