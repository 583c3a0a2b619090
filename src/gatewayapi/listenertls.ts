// TLS of a listener: the mode its protocol allows, the certificate Secrets it references (with
// ReferenceGrants for other namespaces), and the certificates themselves.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import type { Secret } from '../api/core/index.js';
import { GatewayGroup, type ListenerContext } from './contexts.js';
import { applyFrontendValidation } from './gatewaytls.js';
import { setInvalid } from './listeners.js';
import { referenceAllowed } from './lookups.js';
import { Cond, Reason } from './status.js';
import type { Translation } from './translation.js';

export const SDSSecretType = 'gateway.envoyproxy.io/sds';

/** Validates the listener's TLS block against its protocol; resolves its certificates. */
export function validateListenerTLS(t: Translation, l: ListenerContext): boolean {
  const tls = l.tls;
  switch (l.protocol) {
    case 'HTTP':
    case 'TCP':
    case 'UDP':
      if (tls) {
        setInvalid(l, `A ${l.protocol} listener cannot have TLS settings`);
        return false;
      }
      return true;
    case 'HTTPS':
      if (!tls) {
        setInvalid(l, 'An HTTPS listener needs TLS settings');
        return false;
      }
      if (tls.mode && tls.mode !== 'Terminate') {
        l.setCondition(Cond.Programmed, 'False', 'UnsupportedTLSMode', `TLS mode ${tls.mode} is not supported on HTTPS listeners; use Terminate`);
        return false;
      }
      {
        // Both are checked: a broken client validation is reported even over certificate errors.
        const certificates = resolveCertificates(t, l);
        const validation = applyFrontendValidation(l);
        return certificates && validation;
      }
    case 'TLS':
      if (!tls) {
        setInvalid(l, 'A TLS listener needs TLS settings');
        return false;
      }
      if (tls.mode === 'Passthrough' && (tls.certificateRefs ?? []).length > 0) {
        setInvalid(l, 'A TLS listener in Passthrough mode cannot have certificates');
        return false;
      }
      if (tls.mode === 'Terminate') {
        if ((tls.certificateRefs ?? []).length === 0) {
          setInvalid(l, 'A TLS listener in Terminate mode needs certificates');
          return false;
        }
        return resolveCertificates(t, l);
      }
      return true;
    default:
      return true;
  }
}

interface CertError {
  reason: string;
  message: string;
}

function resolveCertificates(t: Translation, l: ListenerContext): boolean {
  const refs = l.tls?.certificateRefs ?? [];
  if (refs.length === 0) {
    setInvalid(l, 'The listener needs at least one certificate');
    return false;
  }
  const errors: CertError[] = [];
  const secrets: Secret[] = [];
  const fromNamespace = l.listenerSet?.metadata.namespace ?? l.gateway.namespace;
  const fromKind = l.listenerSet ? 'ListenerSet' : 'Gateway';
  for (const ref of refs) {
    if (ref.group) {
      errors.push({ reason: Reason.InvalidCertificateRef, message: `certificate ref group must be empty, not ${ref.group}` });
      continue;
    }
    if (ref.kind && ref.kind !== 'Secret') {
      errors.push({ reason: Reason.InvalidCertificateRef, message: `certificate ref kind must be Secret, not ${ref.kind}` });
      continue;
    }
    const ns = ref.namespace || fromNamespace;
    if (ns !== fromNamespace) {
      const ok = referenceAllowed(t.lookups.referenceGrants, { group: GatewayGroup, kind: fromKind, namespace: fromNamespace }, { group: '', kind: 'Secret', namespace: ns, name: ref.name });
      if (!ok) {
        errors.push({ reason: Reason.RefNotPermitted, message: `no ReferenceGrant allows a reference to Secret ${ns}/${ref.name}` });
        continue;
      }
    }
    const secret = t.lookups.secret(ns, ref.name);
    if (!secret) {
      errors.push({ reason: Reason.InvalidCertificateRef, message: `Secret ${ns}/${ref.name} does not exist` });
      continue;
    }
    if (secret.type === SDSSecretType && t.settings.sdsSecretRefEnabled) {
      const err = sdsError(secret);
      if (err) errors.push({ reason: Reason.InvalidCertificateRef, message: err });
      else secrets.push(secret);
      continue;
    }
    if (secret.type !== 'kubernetes.io/tls') {
      errors.push({ reason: Reason.InvalidCertificateRef, message: `Secret ${ns}/${ref.name} must be of type kubernetes.io/tls` });
      continue;
    }
    if (!secret.data?.['tls.crt'] || !secret.data?.['tls.key']) {
      errors.push({ reason: Reason.InvalidCertificateRef, message: `Secret ${ns}/${ref.name} must contain tls.crt and tls.key` });
      continue;
    }
    secrets.push(secret);
  }

  const { valid, dnsNames, errors: certErrors } = checkCertificates(secrets);
  errors.push(...certErrors);
  l.tlsSecrets = valid;
  l.certDNSNames = dnsNames;
  if (valid.length === 0) {
    const first = errors[0] ?? { reason: Reason.InvalidCertificateRef, message: 'no valid certificate' };
    l.setCondition(Cond.ResolvedRefs, 'False', first.reason, `No valid certificate: ${errors.map((e) => e.message).join('; ')}`);
    return false;
  }
  if (errors.length) {
    l.setCondition(Cond.ResolvedRefs, 'False', Reason.PartiallyInvalidCertificateRef, `Some certificates are not valid: ${errors.map((e) => e.message).join('; ')}`);
  }
  return true;
}

function sdsError(secret: Secret): string | undefined {
  const data = secret.data ?? {};
  const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
  if (!data.url) return `SDS Secret ${name} has no url`;
  if (!data.secretName) return `SDS Secret ${name} has no secretName`;
  const url = Buffer.from(data.url, 'base64').toString('utf8');
  if (!/^(unix|tcp|grpc):\/\/./.test(url)) return `SDS Secret ${name} has an invalid url ${url}`;
  return undefined;
}

/**
 * Parses each certificate and key, keeping the Secrets whose certificate is well-formed, whose key
 * matches it, and whose (public key algorithm, domain) pair is not already served by another.
 */
export function checkCertificates(secrets: readonly Secret[]): { valid: Secret[]; dnsNames: string[]; errors: CertError[] } {
  const valid: Secret[] = [];
  const dnsNames: string[] = [];
  const errors: CertError[] = [];
  const taken = new Set<string>();
  for (const s of secrets) {
    if (s.type === SDSSecretType) {
      valid.push(s);
      continue;
    }
    const name = `${s.metadata.namespace}/${s.metadata.name}`;
    const parsed = parseKeyPair(s.data?.['tls.crt'] ?? '', s.data?.['tls.key'] ?? '');
    if ('error' in parsed) {
      errors.push({ reason: Reason.InvalidCertificateRef, message: `${name}: ${parsed.error}` });
      continue;
    }
    const algo = parsed.cert.publicKey.asymmetricKeyType ?? '';
    const names = certificateDNSNames(parsed.cert);
    const clash = names.find((n) => taken.has(`${algo}/${n}`));
    if (clash) {
      errors.push({ reason: Reason.InvalidCertificateRef, message: `${name}: another certificate already serves ${clash} with the same key algorithm` });
      continue;
    }
    for (const n of names) taken.add(`${algo}/${n}`);
    // The certificate goes on re-encoded from what was parsed (normalised PEM).
    valid.push({ ...s, data: { ...s.data, 'tls.crt': Buffer.from(parsed.pem).toString('base64') } });
    dnsNames.push(...names);
  }
  return { valid, dnsNames, errors };
}

function parseKeyPair(certB64: string, keyB64: string): { cert: X509Certificate; key: KeyObject; pem: string } | { error: string } {
  const certPem = Buffer.from(certB64, 'base64').toString('utf8');
  const keyPem = Buffer.from(keyB64, 'base64').toString('utf8');
  const blocks = certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return { error: 'tls.crt holds no PEM certificate' };
  const certs: X509Certificate[] = [];
  for (const b of blocks) {
    try {
      certs.push(new X509Certificate(b));
    } catch (e) {
      return { error: `tls.crt is not a valid certificate (${(e as Error).message})` };
    }
  }
  const cert = certs[0]!;
  const km = /-----BEGIN ([A-Z ]*)PRIVATE KEY-----/.exec(keyPem);
  if (!km) return { error: 'tls.key holds no PEM private key' };
  const kind = km[1]!.trim();
  if (kind !== '' && kind !== 'RSA' && kind !== 'EC') return { error: `${kind} keys are not supported; use PKCS1, PKCS8 or EC` };
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    return { error: `tls.key is not a valid private key (${(e as Error).message})` };
  }
  try {
    if (!cert.checkPrivateKey(key)) return { error: 'tls.key does not match the certificate in tls.crt' };
  } catch {
    return { error: 'tls.key does not match the certificate in tls.crt' };
  }
  return { cert, key, pem: certs.map((c) => c.toString()).join('') };
}

/** The DNS names a certificate serves (its SANs, else its common name). */
export function certificateDNSNames(cert: X509Certificate): string[] {
  const san = cert.subjectAltName;
  if (san) {
    const names = san
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4));
    if (names.length) return names;
  }
  return [];
}
