// Local certificates for mTLS between the control plane and its proxies, as Envoy Gateway's
// certgen makes them: a CA, a server certificate for the xDS server (`envoy-gateway`) and a
// client certificate for the proxies (`envoy`), RSA 2048 signed with SHA-256.
//
// Node.js can generate keys and sign, but cannot assemble an X.509 certificate. node-forge does
// the certificate structure (ASN.1/DER): it has no dependencies, is the most used library for it
// on npm and is maintained. Its pure-JavaScript RSA is slow, so keys are generated and
// certificates signed by Node's own crypto; forge only lays out the bytes.
import { generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface KeyPairPEM {
  /** Certificate, PEM. */
  cert: string;
  /** Private key, PKCS#8 PEM. */
  key: string;
}

export interface CertificateSet {
  /** The CA certificate both sides trust. */
  ca: string;
  /** The xDS server's certificate (Envoy Gateway's `envoy-gateway` Secret). */
  server: KeyPairPEM;
  /** The proxies' client certificate (Envoy Gateway's `envoy` Secret). */
  client: KeyPairPEM;
}

export interface CertgenOptions {
  /** Validity in days (default 5 years, like Envoy Gateway's certgen). */
  validityDays?: number;
  /** DNS names and IP addresses the server certificate is valid for. */
  serverNames?: readonly string[];
  now?: Date;
}

/** Where the xDS server is reached on one machine, and the names Envoy Gateway's server cert carries. */
export const defaultServerNames = ['localhost', '127.0.0.1', '::1', 'envoy-gateway', 'envoy-gateway.envoy-gateway-system', 'envoy-gateway.envoy-gateway-system.svc', 'envoy-gateway.envoy-gateway-system.svc.cluster.local'];

const isIP = (s: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s) || s.includes(':');

function rsaKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

interface Issuer {
  subject: forge.pki.CertificateField[];
  privateKey: KeyObject;
}

function makeCertificate(
  subject: forge.pki.CertificateField[],
  publicKey: KeyObject,
  issuer: Issuer | 'self',
  privateKey: KeyObject,
  extensions: object[],
  options: CertgenOptions,
): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive 128-bit serial (the top bit cleared keeps the DER integer positive).
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  cert.serialNumber = serial.toString('hex');
  const now = options.now ?? new Date();
  cert.validity.notBefore = new Date(now.getTime() - 60_000); // tolerate small clock skew
  cert.validity.notAfter = new Date(now.getTime() + (options.validityDays ?? 5 * 365) * 86_400_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer === 'self' ? subject : issuer.subject);
  cert.setExtensions(extensions);
  // What forge's own sign() does, with Node's RSA in place of forge's.
  cert.siginfo.algorithmOid = cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption!;
  // getTBSCertificate is public in forge but missing from its type definitions.
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const der = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  (cert as unknown as { tbsCertificate: forge.asn1.Asn1 }).tbsCertificate = tbs;
  cert.signature = sign('sha256', der, issuer === 'self' ? privateKey : issuer.privateKey).toString('binary');
  return forge.pki.certificateToPem(cert);
}

const pkcs8 = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }).toString();

function altNames(names: readonly string[]): object {
  return { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) };
}

/** Generates a fresh CA and the server and client certificates it signs. */
export function generateCertificates(options: CertgenOptions = {}): CertificateSet {
  const caKeys = rsaKeyPair();
  const caSubject = [{ name: 'commonName', value: 'envoy-gateway' }, { name: 'organizationName', value: 'egts' }];
  const ca = makeCertificate(caSubject, caKeys.publicKey, 'self', caKeys.privateKey, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ], options);
  const issuer: Issuer = { subject: caSubject, privateKey: caKeys.privateKey };
  const leaf = (commonName: string, names: readonly string[], usage: { serverAuth?: boolean; clientAuth?: boolean }): KeyPairPEM => {
    const keys = rsaKeyPair();
    const cert = makeCertificate([{ name: 'commonName', value: commonName }], keys.publicKey, issuer, keys.privateKey, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', ...usage },
      altNames(names),
    ], options);
    return { cert, key: pkcs8(keys.privateKey) };
  };
  const serverNames = options.serverNames ?? defaultServerNames;
  return {
    ca,
    // Both certificates allow both uses, as Envoy Gateway's do: the same pair serves either end.
    server: leaf('envoy-gateway', serverNames, { serverAuth: true, clientAuth: true }),
    client: leaf('envoy', ['envoy'], { serverAuth: true, clientAuth: true }),
  };
}

/** The files of a certificate set under a folder, laid out like Envoy Gateway's Secrets. */
export interface CertificatePaths {
  server: { ca: string; cert: string; key: string };
  client: { ca: string; cert: string; key: string };
}

export function certificatePaths(dir: string): CertificatePaths {
  const side = (name: string) => ({ ca: join(dir, name, 'ca.crt'), cert: join(dir, name, 'tls.crt'), key: join(dir, name, 'tls.key') });
  return { server: side('envoy-gateway'), client: side('envoy') };
}

export function writeCertificates(dir: string, set: CertificateSet): CertificatePaths {
  const paths = certificatePaths(dir);
  for (const [side, pair] of [[paths.server, set.server], [paths.client, set.client]] as const) {
    mkdirSync(join(side.ca, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(side.ca, set.ca);
    writeFileSync(side.cert, pair.cert);
    writeFileSync(side.key, pair.key, { mode: 0o600 });
  }
  return paths;
}

/**
 * Why the certificates under `dir` cannot be used (missing, unreadable, expiring within
 * `minValidDays`, not signed by their CA, not covering `serverNames`), or undefined when they can.
 */
export function checkCertificates(dir: string, options: { minValidDays?: number; serverNames?: readonly string[]; now?: Date } = {}): string | undefined {
  const paths = certificatePaths(dir);
  const files = [paths.server.ca, paths.server.cert, paths.server.key, paths.client.ca, paths.client.cert, paths.client.key];
  const missing = files.find((f) => !existsSync(f));
  if (missing) return `${missing} is missing`;
  try {
    const ca = new X509Certificate(readFileSync(paths.server.ca));
    const until = (options.now ?? new Date()).getTime() + (options.minValidDays ?? 30) * 86_400_000;
    for (const file of [paths.server.cert, paths.client.cert]) {
      const cert = new X509Certificate(readFileSync(file));
      if (!cert.verify(ca.publicKey)) return `${file} is not signed by ${paths.server.ca}`;
      if (Date.parse(cert.validTo) < until) return `${file} expires ${cert.validTo}`;
    }
    const server = new X509Certificate(readFileSync(paths.server.cert));
    for (const name of options.serverNames ?? []) {
      const ok = isIP(name) ? server.checkIP(name) : server.checkHost(name);
      if (!ok) return `${paths.server.cert} does not cover ${name}`;
    }
  } catch (err) {
    return `cannot read the certificates: ${(err as Error).message}`;
  }
  return undefined;
}

/** Uses the certificates under `dir` when they are good, generating them otherwise. */
export function ensureCertificates(dir: string, options: CertgenOptions = {}): { paths: CertificatePaths; generated: boolean; reason?: string } {
  const reason = checkCertificates(dir, { serverNames: options.serverNames, now: options.now });
  if (!reason) return { paths: certificatePaths(dir), generated: false };
  return { paths: writeCertificates(dir, generateCertificates(options)), generated: true, reason };
}
