// SDS Secrets (envoy.extensions.transport_sockets.tls.v3.Secret), compiled to what node:tls
// takes: PEM certificate chains, keys and CA bundles. TLS contexts look secrets up by name when
// a connection is made, so an SDS update takes effect for new connections without relinking.
import { ConfigError } from '../config/errors.js';
import { at, dataSource, field, list, obj, str, type Json } from '../config/json.js';
import { compileStringMatcher, type StringMatch } from '../router/string_match.js';

export interface TlsCertificate {
  certChain: Buffer;
  privateKey: Buffer;
  password: string | undefined;
}

export interface SanMatcher {
  type: 'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'OTHER_NAME';
  match: StringMatch;
}

export interface ValidationContext {
  trustedCa: Buffer | undefined;
  crl: Buffer | undefined;
  sanMatchers: SanMatcher[];
  /** Hex SHA-256 fingerprints (upper case, no colons) the peer certificate must have. */
  certificateHashes: string[];
  spkiHashes: string[];
  acceptUntrusted: boolean;
  allowExpired: boolean;
  systemRootCerts: boolean;
}

export type Secret =
  | { kind: 'tlsCertificate'; name: string; cert: TlsCertificate }
  | { kind: 'validationContext'; name: string; validation: ValidationContext }
  | { kind: 'genericSecret'; name: string; secret: Buffer }
  | { kind: 'sessionTicketKeys'; name: string };

export type ReadFile = (p: string) => Buffer;

export function compileSecret(s: Json, readFile: ReadFile, path = ''): Secret {
  const name = str(s, 'name', path);
  const tc = obj(s, 'tlsCertificate', path);
  if (tc) return { kind: 'tlsCertificate', name, cert: compileTlsCertificate(tc, at(path, 'tlsCertificate'), readFile) };
  const vc = obj(s, 'validationContext', path);
  if (vc) return { kind: 'validationContext', name, validation: compileValidationContext(vc, at(path, 'validationContext'), readFile) };
  const gs = obj(s, 'genericSecret', path);
  if (gs) return { kind: 'genericSecret', name, secret: dataSource(gs, 'secret', at(path, 'genericSecret'), readFile) ?? Buffer.alloc(0) };
  if (obj(s, 'sessionTicketKeys', path)) return { kind: 'sessionTicketKeys', name };
  throw new ConfigError(path, 'a secret needs one of tlsCertificate, validationContext, genericSecret or sessionTicketKeys');
}

export function compileTlsCertificate(tc: Json, path: string, readFile: ReadFile): TlsCertificate {
  const certChain = dataSource(tc, 'certificateChain', path, readFile);
  const privateKey = dataSource(tc, 'privateKey', path, readFile);
  if (!certChain?.length) throw new ConfigError(at(path, 'certificateChain'), 'required');
  if (!privateKey?.length) throw new ConfigError(at(path, 'privateKey'), 'required');
  const pw = dataSource(tc, 'password', path, readFile);
  if (field(tc, 'privateKeyProvider') !== undefined) throw new ConfigError(at(path, 'privateKeyProvider'), 'private key providers are not supported');
  return { certChain, privateKey, password: pw?.toString() };
}

const SAN_TYPES = ['SAN_TYPE_UNSPECIFIED', 'EMAIL', 'DNS', 'URI', 'IP_ADDRESS', 'OTHER_NAME'] as const;

export function compileValidationContext(vc: Json, path: string, readFile: ReadFile): ValidationContext {
  const sanMatchers: SanMatcher[] = [];
  list(vc, 'matchTypedSubjectAltNames', path).forEach((m: Json, i: number) => {
    const p = at(at(path, 'matchTypedSubjectAltNames'), i);
    const t = field(m, 'sanType');
    const type = typeof t === 'number' ? SAN_TYPES[t] : t;
    if (!type || type === 'SAN_TYPE_UNSPECIFIED' || !SAN_TYPES.includes(type)) throw new ConfigError(at(p, 'sanType'), 'a SAN type is required');
    const matcher = obj(m, 'matcher', p);
    if (!matcher) throw new ConfigError(at(p, 'matcher'), 'required');
    sanMatchers.push({ type, match: compileStringMatcher(matcher, at(p, 'matcher')) });
  });
  // Deprecated untyped SAN matchers match any SAN type.
  list(vc, 'matchSubjectAltNames', path).forEach((m: Json, i: number) => {
    const match = compileStringMatcher(m, at(at(path, 'matchSubjectAltNames'), i));
    for (const type of ['DNS', 'URI', 'EMAIL', 'IP_ADDRESS'] as const) sanMatchers.push({ type, match });
  });
  const hex = (v: unknown) => String(v).replace(/:/g, '').toUpperCase();
  const tcv = field(vc, 'trustChainVerification');
  return {
    trustedCa: dataSource(vc, 'trustedCa', path, readFile),
    crl: dataSource(vc, 'crl', path, readFile),
    sanMatchers,
    certificateHashes: list(vc, 'verifyCertificateHash', path).map(hex),
    spkiHashes: list(vc, 'verifyCertificateSpki', path).map((v) => Buffer.from(String(v), 'base64').toString('hex').toUpperCase()),
    acceptUntrusted: tcv === 'ACCEPT_UNTRUSTED' || tcv === 1,
    allowExpired: field(vc, 'allowExpiredCertificate') === true,
    systemRootCerts: obj(vc, 'systemRootCerts', path) !== undefined,
  };
}

/** Live view of the Secrets known to the proxy (static and SDS). */
export interface SecretStore {
  get(name: string): Secret | undefined;
}
