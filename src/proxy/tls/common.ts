// The parts of CommonTlsContext shared by downstream and upstream TLS: certificates and the
// validation context, each either inline or by SDS name (resolved when a connection is made).
import { ConfigError } from '../config/errors.js';
import { at, field, list, obj, str, type Json } from '../config/json.js';
import { compileTlsCertificate, compileValidationContext, type ReadFile, type SecretStore, type TlsCertificate, type ValidationContext } from './secrets.js';

export type CertRef = { inline: TlsCertificate } | { sds: string };
export type ValidationRef = { inline: ValidationContext } | { sds: string; defaults: ValidationContext | undefined } | undefined;

export interface TlsParams {
  minVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | undefined;
  maxVersion: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3' | undefined;
  ciphers: string | undefined;
  ecdhCurve: string | undefined;
  sigalgs: string | undefined;
}

export interface CommonTls {
  certs: CertRef[];
  validation: ValidationRef;
  alpn: string[];
  params: TlsParams;
}

const VERSIONS = { TLS_AUTO: undefined, TLSv1_0: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' } as const;

export function compileCommonTls(c: Json | undefined, path: string, readFile: ReadFile): CommonTls {
  c ??= {};
  const certs: CertRef[] = [];
  list(c, 'tlsCertificates', path).forEach((tc: Json, i: number) => certs.push({ inline: compileTlsCertificate(tc, at(at(path, 'tlsCertificates'), i), readFile) }));
  list(c, 'tlsCertificateSdsSecretConfigs', path).forEach((s: Json, i: number) => {
    const name = str(s, 'name', at(at(path, 'tlsCertificateSdsSecretConfigs'), i));
    if (!name) throw new ConfigError(at(at(path, 'tlsCertificateSdsSecretConfigs'), i), 'an SDS secret name is required');
    certs.push({ sds: name });
  });
  if (field(c, 'tlsCertificateProviderInstance') !== undefined || field(c, 'tlsCertificateCertificateProviderInstance') !== undefined) {
    throw new ConfigError(at(path, 'tlsCertificateProviderInstance'), 'certificate provider instances are not supported');
  }
  let validation: ValidationRef;
  const vc = obj(c, 'validationContext', path);
  const vsds = obj(c, 'validationContextSdsSecretConfig', path);
  const cvc = obj(c, 'combinedValidationContext', path);
  if (vc) validation = { inline: compileValidationContext(vc, at(path, 'validationContext'), readFile) };
  else if (vsds) validation = { sds: str(vsds, 'name', at(path, 'validationContextSdsSecretConfig')), defaults: undefined };
  else if (cvc) {
    const cp = at(path, 'combinedValidationContext');
    const dflt = obj(cvc, 'defaultValidationContext', cp);
    const sds = obj(cvc, 'validationContextSdsSecretConfig', cp);
    const defaults = dflt ? compileValidationContext(dflt, at(cp, 'defaultValidationContext'), readFile) : undefined;
    validation = sds ? { sds: str(sds, 'name', at(cp, 'validationContextSdsSecretConfig')), defaults } : defaults ? { inline: defaults } : undefined;
  }
  const tp = obj(c, 'tlsParams', path) ?? {};
  const pp = at(path, 'tlsParams');
  const version = (name: string) => {
    const v = field(tp, name);
    if (v === undefined) return undefined;
    if (!(v in VERSIONS)) throw new ConfigError(at(pp, name), `unknown TLS version ${v}`);
    return VERSIONS[v as keyof typeof VERSIONS];
  };
  const joined = (name: string, sep: string) => {
    const l = list(tp, name, pp);
    return l.length ? l.join(sep) : undefined;
  };
  return {
    certs,
    validation,
    alpn: list(c, 'alpnProtocols', path).map(String),
    params: {
      minVersion: version('tlsMinimumProtocolVersion'),
      maxVersion: version('tlsMaximumProtocolVersion'),
      ciphers: joined('cipherSuites', ':')?.replace(/\[|\]/g, '').replace(/\|/g, ':'),
      ecdhCurve: joined('ecdhCurves', ':'),
      sigalgs: joined('signatureAlgorithms', ':'),
    },
  };
}

export function resolveCert(ref: CertRef, secrets: SecretStore): TlsCertificate | undefined {
  if ('inline' in ref) return ref.inline;
  const s = secrets.get(ref.sds);
  return s?.kind === 'tlsCertificate' ? s.cert : undefined;
}

/** The validation context in force: SDS over defaults (Envoy merges; we take SDS's CA and the defaults' matchers). */
export function resolveValidation(ref: ValidationRef, secrets: SecretStore): ValidationContext | undefined | null {
  if (!ref) return undefined;
  if ('inline' in ref) return ref.inline;
  const s = secrets.get(ref.sds);
  if (s?.kind !== 'validationContext') return null; // referenced but not (yet) known
  if (!ref.defaults) return s.validation;
  return { ...ref.defaults, trustedCa: s.validation.trustedCa ?? ref.defaults.trustedCa, crl: s.validation.crl ?? ref.defaults.crl };
}
