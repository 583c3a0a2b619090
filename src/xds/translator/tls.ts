// TLS on both sides: downstream contexts for listeners (certificates by SDS name, client
// validation, TLS parameters), upstream contexts for clusters (SNI, CA, SANs, client
// certificates), and the Secrets they name.
import { createHash } from 'node:crypto';
import type { StringMatch, TLSCACertificate, TLSCertificate, TLSConfig, TLSParameters, TLSUpstreamConfig } from '../../ir/xds.js';
import { adsConfigSource, typed, type Msg } from './util.js';

/** Where the system trust store lives in the Envoy image. */
export const systemTrustStorePath = '/etc/ssl/certs/ca-certificates.crt';

export interface TLSOptions {
  /** The cluster negotiates SNI from the request's host (no SNI configured). */
  autoSNI?: boolean;
}

const tlsVersions: Record<string, string> = { '1.0': 'TLSv1_0', '1.1': 'TLSv1_1', '1.2': 'TLSv1_2', '1.3': 'TLSv1_3' };

function tlsParams(p: TLSParameters): Msg | undefined {
  const t: Msg = {};
  if (p.minVersion && tlsVersions[p.minVersion]) t.tlsMinimumProtocolVersion = tlsVersions[p.minVersion];
  if (p.maxVersion && tlsVersions[p.maxVersion]) t.tlsMaximumProtocolVersion = tlsVersions[p.maxVersion];
  if (p.ciphers?.length) t.cipherSuites = [...p.ciphers];
  if (p.ecdhCurves?.length) t.ecdhCurves = [...p.ecdhCurves];
  if (p.signatureAlgorithms?.length) t.signatureAlgorithms = [...p.signatureAlgorithms];
  return Object.keys(t).length ? t : undefined;
}

/** The SDS cluster name of an external SDS server: derived from its socket address. */
export function sdsClusterName(address: string): string {
  const clean = address.replace(/^\/+/, '').replaceAll('/', '_');
  const hash = createHash('sha256').update(address).digest('hex').slice(0, 32);
  return `sds_${clean}_${hash}`;
}

/** A reference to a secret: ours over ADS, or one served by an external SDS server. */
export function sdsSecretConfig(cert: TLSCertificate): Msg {
  if (cert.sds) {
    return {
      name: cert.sds.secretName,
      sdsConfig: {
        apiConfigSource: {
          apiType: 'GRPC',
          grpcServices: [{ envoyGrpc: { clusterName: sdsClusterName(cert.sds.address) } }],
        },
      },
    };
  }
  return { name: cert.name, sdsConfig: adsConfigSource() };
}

function sanMatcher(m: StringMatch): Msg {
  const matcher: Msg = {};
  if (m.exact !== undefined) matcher.exact = m.exact;
  else if (m.prefix !== undefined) matcher.prefix = m.prefix;
  else if (m.suffix !== undefined) matcher.suffix = m.suffix;
  else if (m.safeRegex !== undefined) matcher.safeRegex = { regex: m.safeRegex };
  else if (m.contains !== undefined) matcher.contains = m.contains;
  const known = ['DNS', 'EMAIL', 'IP_ADDRESS', 'URI'];
  const name = m.name ?? '';
  if (known.includes(name)) return { sanType: name, matcher };
  return { sanType: 'OTHER_NAME', matcher, oid: name };
}

/** A listener's DownstreamTlsContext transport socket. */
export function buildDownstreamTLSSocket(tls: TLSConfig, opts: { defaultALPN?: string[]; forceHTTP11?: boolean } = {}): Msg {
  const common: Msg = {};
  const params = tlsParams(tls);
  if (params) common.tlsParams = params;
  const alpn = tls.alpnProtocols === undefined || tls.alpnProtocols === null
    ? (opts.forceHTTP11 ? ['http/1.1'] : opts.defaultALPN)
    : tls.alpnProtocols;
  if (alpn?.length) common.alpnProtocols = [...alpn];
  common.tlsCertificateSdsSecretConfigs = (tls.certificates ?? []).map(sdsSecretConfig);

  const validation: Msg = {};
  if (tls.matchTypedSubjectAltNames?.length) validation.matchTypedSubjectAltNames = tls.matchTypedSubjectAltNames.map(sanMatcher);
  if (tls.verifyCertificateHash?.length) validation.verifyCertificateHash = [...tls.verifyCertificateHash];
  if (tls.verifyCertificateSpki?.length) validation.verifyCertificateSpki = [...tls.verifyCertificateSpki];
  if (tls.allowExpiredCertificate) validation.allowExpiredCertificate = true;
  if (tls.acceptUntrusted) validation.trustChainVerification = 'ACCEPT_UNTRUSTED';
  if (tls.caCertificate) {
    const sds = { name: tls.caCertificate.name, sdsConfig: adsConfigSource() };
    if (Object.keys(validation).length) {
      common.combinedValidationContext = { defaultValidationContext: validation, validationContextSdsSecretConfig: sds };
    } else {
      common.validationContextSdsSecretConfig = sds;
    }
  } else if (Object.keys(validation).length) {
    common.validationContext = validation;
  }

  const ctx: Msg = { commonTlsContext: common };
  if (tls.caCertificate || tls.clientValidationEnabled) ctx.requireClientCertificate = !!tls.requireClientCertificate;
  if (!tls.statefulSessionResumption) ctx.disableStatefulSessionResumption = true;
  if (!tls.statelessSessionResumption) ctx.disableStatelessSessionResumption = true;
  return {
    name: 'envoy.transport_sockets.tls',
    typedConfig: typed('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext', ctx),
  };
}

/** A cluster's UpstreamTlsContext transport socket for one destination setting. */
export function buildUpstreamTLSSocket(tls: TLSUpstreamConfig, opts: TLSOptions = {}): Msg {
  const common: Msg = {};
  const params = tlsParams(tls);
  if (params) common.tlsParams = params;
  if (tls.alpnProtocols?.length) common.alpnProtocols = [...tls.alpnProtocols];
  if (tls.clientCertificates?.length) common.tlsCertificateSdsSecretConfigs = tls.clientCertificates.map(sdsSecretConfig);
  const ctx: Msg = { commonTlsContext: common };
  if (!tls.insecureSkipVerify && tls.caCertificate) {
    const validation: Msg = {};
    const sans: Msg[] = [];
    for (const san of tls.subjectAltNames ?? []) {
      if (san.hostname) sans.push({ sanType: 'DNS', matcher: { exact: san.hostname } });
      else if (san.uri) sans.push({ sanType: 'URI', matcher: { exact: san.uri } });
    }
    if (!sans.length && tls.sni) sans.push({ sanType: 'DNS', matcher: { exact: tls.sni } });
    if (sans.length) validation.matchTypedSubjectAltNames = sans;
    common.combinedValidationContext = {
      defaultValidationContext: validation,
      validationContextSdsSecretConfig: { name: tls.caCertificate.name, sdsConfig: adsConfigSource() },
    };
    if (tls.autoSNIFromEndpointHostname || (opts.autoSNI && !sans.length)) ctx.autoSniSanValidation = true;
  }
  if (tls.autoSNIFromEndpointHostname) ctx.autoHostSni = true;
  if (tls.sni) ctx.sni = tls.sni;
  return {
    name: 'envoy.transport_sockets.tls',
    typedConfig: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', ctx),
  };
}

/** A Secret holding a certificate and its key. */
export function buildCertificateSecret(cert: TLSCertificate): Msg {
  const tc: Msg = {};
  tc.certificateChain = { inlineBytes: cert.certificate ?? '' };
  tc.privateKey = { inlineBytes: cert.privateKey ?? '' };
  if (cert.ocspStaple) tc.ocspStaple = { inlineBytes: cert.ocspStaple };
  return { name: cert.name, tlsCertificate: tc };
}

/** A Secret holding a CA bundle (and CRL) for validating peers. */
export function buildCASecret(ca: TLSCACertificate, crl?: TLSConfig['crl']): Msg {
  const vc: Msg = { trustedCa: { inlineBytes: ca.certificate ?? '' } };
  if (crl?.data) {
    vc.crl = { inlineBytes: crl.data };
    if (crl.onlyVerifyLeafCertificate) vc.onlyVerifyLeafCertCrl = true;
  }
  return { name: ca.name, validationContext: vc };
}

/** The CA Secret of an upstream TLS setting: its bundle, or the system trust store. */
export function buildUpstreamCASecret(tls: TLSUpstreamConfig): Msg | undefined {
  if (!tls.caCertificate) return undefined;
  if (tls.useSystemTrustStore && !tls.caCertificate.certificate) {
    return { name: tls.caCertificate.name, validationContext: { trustedCa: { filename: systemTrustStorePath } } };
  }
  return buildCASecret(tls.caCertificate);
}
