// The direct transport's per-session TLS material (docs/design.md, "Direct transport"): two
// self-signed ECDSA P-256 certificates, one for the pod server and one for the runner, made fresh
// for every session and valid for a day. Each side pins the other's certificate (its SHA-256
// fingerprint and, as the only trust anchor, the certificate itself): nothing else is accepted.
// node:crypto makes key pairs but cannot issue X.509 certificates, so @peculiar/x509 signs them
// (with node's WebCrypto); the result is plain PEM for node:tls.
import { X509Certificate, webcrypto } from 'node:crypto';
import 'reflect-metadata'; // @peculiar/x509's dependency injection (tsyringe) needs it
import * as x509 from '@peculiar/x509';

export interface CertPair {
  /** PEM certificate */
  cert: string;
  /** PEM PKCS#8 private key */
  key: string;
  /** SHA-256 fingerprint as node:tls shows it (AA:BB:...) */
  fingerprint256: string;
}

export interface SessionCerts {
  server: CertPair;
  client: CertPair;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

async function selfSigned(commonName: string, usage: 'serverAuth' | 'clientAuth', now: Date): Promise<CertPair> {
  const crypto = webcrypto as unknown as Crypto;
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
        .toString('hex')
        .replace(/^[89a-f]/, '1'),
      name: `CN=${commonName}`,
      notBefore: new Date(now.getTime() - 5 * 60 * 1000),
      notAfter: new Date(now.getTime() + DAY_MS),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage === 'serverAuth' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ],
    },
    crypto,
  );
  const certPem = cert.toString('pem');
  const key = pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: certPem.endsWith('\n') ? certPem : `${certPem}\n`, key, fingerprint256: fingerprintOf(certPem) };
}

/** A fresh server and client certificate for one session. */
export async function generateSessionCerts(sessionId: string, now = new Date()): Promise<SessionCerts> {
  const [server, client] = await Promise.all([
    selfSigned(`kinject-proxy-${sessionId}`, 'serverAuth', now),
    selfSigned(`kinject-runner-${sessionId}`, 'clientAuth', now),
  ]);
  return { server, client };
}
