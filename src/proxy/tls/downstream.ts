// DownstreamTlsContext: TLS termination for a filter chain. Certificates (inline or SDS) become
// node:tls SecureContexts; with several certificates the one whose names match the SNI is used,
// as Envoy selects among a chain's certificates. Client certificates are requested and checked
// (chain against the CA, then Envoy's SAN, hash and SPKI rules) when the context asks for them.
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../config/errors.js';
import { at, bool, field, obj, type Json } from '../config/json.js';
import { compileCommonTls, resolveCert, resolveValidation, type CommonTls } from './common.js';
import type { ReadFile, SecretStore, TlsCertificate, ValidationContext } from './secrets.js';
import { verifyPeer } from './verify.js';

export interface DownstreamTls {
  common: CommonTls;
  requireClientCertificate: boolean;
  sessionResumption: boolean;
}

export function compileDownstreamTls(tc: Json, path: string, readFile: ReadFile): DownstreamTls {
  const common = compileCommonTls(obj(tc, 'commonTlsContext', path), at(path, 'commonTlsContext'), readFile);
  if (!common.certs.length) throw new ConfigError(at(path, 'commonTlsContext.tlsCertificates'), 'a server TLS context needs a certificate');
  if (field(tc, 'ocspStaplePolicy') !== undefined && field(tc, 'ocspStaplePolicy') !== 'LENIENT_STAPLING') { /* no stapling: lenient behaviour */ }
  return {
    common,
    requireClientCertificate: bool(tc, 'requireClientCertificate', path),
    sessionResumption: !bool(tc, 'disableStatelessSessionResumption', path),
  };
}

interface CertEntry { ctx: tls.SecureContext; names: string[] }

/** The secure contexts of one DownstreamTls, built lazily and rebuilt when SDS secrets change. */
export class ServerTls {
  private entries: CertEntry[] | undefined;
  private validation: ValidationContext | undefined | null;
  private version = -1;

  constructor(readonly config: DownstreamTls, private readonly secrets: SecretStore & { version: number }) {}

  /** Whether every secret it needs is present (Envoy keeps such a listener warming). */
  ready(): boolean {
    return this.config.common.certs.every((c) => resolveCert(c, this.secrets) !== undefined) && resolveValidation(this.config.common.validation, this.secrets) !== null;
  }

  private build(): void {
    if (this.entries && this.version === this.secrets.version) return;
    this.version = this.secrets.version;
    const c = this.config.common;
    this.validation = resolveValidation(c.validation, this.secrets);
    this.entries = [];
    for (const ref of c.certs) {
      const cert = resolveCert(ref, this.secrets);
      if (!cert) continue;
      this.entries.push({ ctx: this.secureContext(cert), names: certNames(cert) });
    }
  }

  private secureContext(cert: TlsCertificate): tls.SecureContext {
    const c = this.config.common;
    const v = this.validation;
    const opts: tls.SecureContextOptions = { cert: cert.certChain, key: cert.privateKey, passphrase: cert.password };
    if (v?.trustedCa) opts.ca = v.trustedCa;
    if (v?.crl) opts.crl = v.crl;
    if (c.params.minVersion) opts.minVersion = c.params.minVersion;
    if (c.params.maxVersion) opts.maxVersion = c.params.maxVersion;
    if (c.params.ciphers) opts.ciphers = c.params.ciphers;
    if (c.params.ecdhCurve) opts.ecdhCurve = c.params.ecdhCurve;
    if (c.params.sigalgs) opts.sigalgs = c.params.sigalgs;
    return tls.createSecureContext(opts);
  }

  /** Wraps an accepted socket (first bytes already unshifted) in a server TLS socket. */
  wrap(socket: import('node:net').Socket, serverName: string, offeredAlpn: string[] | undefined): tls.TLSSocket {
    this.build();
    const entries = this.entries!;
    if (!entries.length) throw new Error('no certificate available');
    const ctx = pickCert(entries, serverName);
    const v = this.validation;
    const requestCert = v !== undefined && v !== null;
    const alpn = this.config.common.alpn;
    const ts = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: ctx,
      requestCert,
      rejectUnauthorized: false, // checked in checkClient, to honour Envoy's rules
      ALPNProtocols: alpn.length ? alpn : undefined,
    });
    void offeredAlpn;
    return ts;
  }

  /** After the handshake: undefined when the client is acceptable, else the reason. */
  checkClient(ts: tls.TLSSocket): string | undefined {
    const v = this.validation;
    if (!v) return undefined;
    const peer = ts.getPeerCertificate(true);
    const presented = peer && Object.keys(peer).length > 0;
    if (!presented) return this.config.requireClientCertificate ? 'client certificate required' : undefined;
    // A TLSSocket made without a tls.Server does not record the verification result: ask OpenSSL.
    const verifyError = (ts as unknown as { _handle?: { verifyError(): (Error & { code?: string }) | null } })._handle?.verifyError();
    if (verifyError && !v.acceptUntrusted) {
      const code = verifyError.code ?? verifyError.message;
      if (!(v.allowExpired && code === 'CERT_HAS_EXPIRED')) return `client certificate rejected: ${code}`;
    }
    const e = verifyPeer(peer, v);
    return e?.message;
  }
}

function pickCert(entries: CertEntry[], serverName: string): tls.SecureContext {
  if (entries.length === 1 || !serverName) return entries[0]!.ctx;
  for (const e of entries) if (e.names.includes(serverName)) return e.ctx;
  for (const e of entries) {
    for (const n of e.names) if (n.startsWith('*.') && serverName.endsWith(n.slice(1)) && serverName.indexOf('.') === serverName.length - n.length + 1) return e.ctx;
  }
  return entries[0]!.ctx;
}

function certNames(cert: TlsCertificate): string[] {
  try {
    const x = new X509Certificate(cert.certChain);
    const names: string[] = [];
    for (const part of (x.subjectAltName ?? '').split(/,\s*/)) if (part.startsWith('DNS:')) names.push(part.slice(4).toLowerCase());
    const cn = /CN=([^\n,]+)/.exec(x.subject)?.[1];
    if (cn && !names.length) names.push(cn.toLowerCase());
    return names;
  } catch {
    return [];
  }
}
