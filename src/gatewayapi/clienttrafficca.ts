// Client certificate validation material of a ClientTrafficPolicy: the CA bundle (from Secrets,
// ConfigMaps and ClusterTrustBundles), the revocation lists, and the cipher names Envoy knows.
import { X509Certificate } from 'node:crypto';
import type { ConfigMap, Secret } from '../api/core/index.js';
import type { ClientTrafficPolicy, ClientTrafficPolicySpec } from '../api/envoygateway/index.js';
import type { TLSCACertificate, TLSCRL } from '../ir/xds.js';
import { EnvoyGatewayGroup } from './contexts.js';
import { referenceAllowed } from './lookups.js';
import type { Translation } from './translation.js';

type Result<T> = T | { error: string };

type ClientValidation = NonNullable<NonNullable<ClientTrafficPolicySpec['tls']>['clientValidation']>;
type CertificateRef = NonNullable<ClientValidation['caCertificateRefs']>[number];
type CRLSettings = NonNullable<ClientValidation['crl']>;

/** The text stored under `key` of a Secret (base64) or ConfigMap, or its only entry. */
function entry(obj: Secret | ConfigMap, key: string, base64: boolean, what: string): Result<{ text: string }> {
  const data: Record<string, string> = obj.data ?? {};
  let raw = data[key];
  if (raw === undefined) {
    const keys = Object.keys(data);
    if (keys.length !== 1) return { error: `ref ${what} [${obj.metadata?.name}] has none of the expected keys [${key}] and more than one entry` };
    raw = data[keys[0]!]!;
  }
  return { text: base64 ? Buffer.from(raw, 'base64').toString('utf8') : raw };
}

/** The referenced object's text under `key`, the reference checked against ReferenceGrants. */
function refText(t: Translation, policy: ClientTrafficPolicy, ref: CertificateRef, key: string): Result<{ text: string; name: string }> {
  const kind: string = ref.kind ?? 'Secret';
  const policyNs = policy.metadata?.namespace ?? '';
  if (kind === 'ClusterTrustBundle') {
    const ctb = t.lookups.clusterTrustBundle(ref.name);
    if (!ctb) return { error: `failed to get certificate from ref: ref ClusterTrustBundle [${ref.name}] not found` };
    return { text: ctb.spec?.trustBundle ?? '', name: ref.name };
  }
  if ((ref.group ?? '') !== '' || (kind !== 'Secret' && kind !== 'ConfigMap')) return { error: `unsupported caCertificateRef kind:${kind}` };
  const ns: string = ref.namespace || policyNs;
  if (ns !== policyNs) {
    const from = { group: EnvoyGatewayGroup, kind: 'ClientTrafficPolicy', namespace: policyNs };
    if (!referenceAllowed(t.lookups.referenceGrants, from, { group: '', kind, namespace: ns, name: ref.name })) {
      return { error: `failed to get certificate from ref: ${kind} ref to ${ns}/${ref.name} is not permitted by any ReferenceGrant` };
    }
  }
  const obj = kind === 'Secret' ? t.lookups.secret(ns, ref.name) : t.lookups.configMap(ns, ref.name);
  if (!obj) return { error: `failed to get certificate from ref: ${kind.toLowerCase()} ${ns}/${ref.name} does not exist` };
  const e = entry(obj, key, kind === 'Secret', kind.toLowerCase());
  if ('error' in e) return { error: `failed to get certificate from ref: ${e.error}` };
  return { text: e.text, name: ref.name };
}

const pemBlocks = (s: string, label: string) => s.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g')) ?? [];

/**
 * The CA bundle clients are validated against, named after the policy. Expired or unparsable
 * certificates are left out; a reference with none left is an error.
 */
export function clientCACertificate(t: Translation, policy: ClientTrafficPolicy, refs: readonly CertificateRef[]): Result<{ caCertificate: TLSCACertificate }> {
  let pem = '';
  const seen = new Set<string>();
  const now = Date.now();
  for (const ref of refs) {
    const r = refText(t, policy, ref, 'ca.crt');
    if ('error' in r) return r;
    const blocks = pemBlocks(r.text, 'CERTIFICATE');
    if (blocks.length === 0) return { error: `invalid certificate in ${r.name}: no PEM certificate found` };
    const problems: string[] = [];
    let kept = 0;
    for (const b of blocks) {
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(b);
      } catch (e) {
        problems.push(`certificate could not be parsed: ${(e as Error).message}`);
        continue;
      }
      if (Date.parse(cert.validTo) < now) {
        problems.push(`certificate ${commonName(cert)} has expired since ${cert.validTo}`);
        continue;
      }
      kept++;
      // The same certificate from two references is carried once.
      if (seen.has(cert.fingerprint256)) continue;
      seen.add(cert.fingerprint256);
      pem += cert.toString();
    }
    if (kept === 0) return { error: `no valid certificates exist in ${r.name}: ${problems.join('\n')}` };
  }
  const ns = policy.metadata?.namespace ?? '';
  return { caCertificate: { name: `${ns}/${policy.metadata.name}/ca.crt`, certificate: Buffer.from(pem, 'utf8').toString('base64') } };
}

function commonName(cert: X509Certificate): string {
  const m = /CN=([^\n,]+)/.exec(cert.subject);
  return m?.[1] ?? cert.subject;
}

/** The certificate revocation lists of a client validation; an expired list is an error. */
export function clientCRL(t: Translation, policy: ClientTrafficPolicy, crl: CRLSettings): Result<{ crl: TLSCRL }> {
  let pem = '';
  for (const ref of crl.refs ?? []) {
    const r = refText(t, policy, ref, 'ca.crl');
    if ('error' in r) return r;
    const blocks = pemBlocks(r.text, 'X509 CRL');
    if (blocks.length === 0) return { error: `invalid crl in ${r.name}: no PEM CRL found` };
    for (const b of blocks) {
      const next = crlNextUpdate(b);
      if (next === null) return { error: `invalid crl in ${r.name}: the CRL could not be parsed` };
      if (next !== undefined && next.getTime() < Date.now()) return { error: `invalid crl in ${r.name}: CRL is expired (next update was due at ${next.toISOString()})` };
      pem += b + '\n';
    }
  }
  const ns = policy.metadata?.namespace ?? '';
  const out: TLSCRL = { name: `${ns}/${policy.metadata.name}/crl`, data: Buffer.from(pem, 'utf8').toString('base64') };
  if (crl.onlyVerifyLeafCertificate) out.onlyVerifyLeafCertificate = true;
  return { crl: out };
}

/**
 * The nextUpdate time of a PEM CRL: undefined when it has none, null when it cannot be read.
 * Reads just enough DER: CertificateList → tbsCertList → [version] signature issuer thisUpdate nextUpdate.
 */
function crlNextUpdate(pem: string): Date | undefined | null {
  const body = pem.replace(/-----[A-Z0-9 ]+-----/g, '').replace(/\s+/g, '');
  const der = Buffer.from(body, 'base64');
  const tlv = (off: number): { tag: number; start: number; end: number } | null => {
    if (off + 2 > der.length) return null;
    const tag = der[off]!;
    let len = der[off + 1]!;
    let start = off + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || start + n > der.length) return null;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
      start += n;
    }
    return start + len <= der.length ? { tag, start, end: start + len } : null;
  };
  const list = tlv(0);
  if (!list || list.tag !== 0x30) return null;
  const tbs = tlv(list.start);
  if (!tbs || tbs.tag !== 0x30) return null;
  let cur = tlv(tbs.start);
  if (cur && cur.tag === 0x02) cur = tlv(cur.end); // version
  for (let i = 0; i < 2 && cur; i++) cur = tlv(cur.end); // signature, issuer
  if (!cur || (cur.tag !== 0x17 && cur.tag !== 0x18)) return null; // thisUpdate
  const next = cur.end < tbs.end ? tlv(cur.end) : null;
  if (!next || (next.tag !== 0x17 && next.tag !== 0x18)) return undefined;
  return asn1Time(der.subarray(next.start, next.end).toString('latin1'), next.tag === 0x17);
}

function asn1Time(s: string, utc: boolean): Date | null {
  const m = utc ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?Z$/.exec(s) : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?(?:\.\d+)?Z$/.exec(s);
  if (!m) return null;
  let year = Number(m[1]);
  if (utc) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)));
}

// Cipher suites BoringSSL (Envoy's TLS library) accepts, by OpenSSL and by IANA name.
const ciphers = new Set([
  'DES-CBC3-SHA', 'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  'AES128-SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA',
  'AES256-SHA', 'TLS_RSA_WITH_AES_256_CBC_SHA',
  'PSK-AES128-CBC-SHA', 'TLS_PSK_WITH_AES_128_CBC_SHA',
  'PSK-AES256-CBC-SHA', 'TLS_PSK_WITH_AES_256_CBC_SHA',
  'AES128-GCM-SHA256', 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  'AES256-GCM-SHA384', 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-SHA', 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'ECDHE-ECDSA-AES256-SHA', 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'ECDHE-RSA-AES128-SHA', 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'ECDHE-RSA-AES256-SHA', 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  'ECDHE-RSA-AES128-SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'ECDHE-RSA-AES128-GCM-SHA256', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'ECDHE-PSK-AES128-CBC-SHA', 'TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA',
  'ECDHE-PSK-AES256-CBC-SHA', 'TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA',
  'ECDHE-RSA-CHACHA20-POLY1305', 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'ECDHE-PSK-CHACHA20-POLY1305', 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256',
]);

/** A cipher name, or an equal-preference group "[A|B]" of them, that Envoy accepts. */
export function validCipher(c: string): boolean {
  const names = c.startsWith('[') && c.endsWith(']') ? c.slice(1, -1).split('|') : [c];
  return names.length > 0 && names.every((n) => ciphers.has(n));
}
