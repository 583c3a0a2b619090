// Upstream TLS of a backend: server validation from a BackendTLSPolicy targeting the Service (or
// Backend, or ServiceImport) and from the Backend's own tls settings; client settings (certificate,
// versions, ciphers, ALPN) from the Backend and the EnvoyProxy's backendTLS.
import { X509Certificate } from 'node:crypto';
import type { Backend, BackendTLSSettings, EnvoyProxySpec } from '../api/envoygateway/index.js';
import type { BackendRef, BackendTLSPolicy } from '../api/gatewayapi/index.js';
import type { KubernetesObject } from '../api/meta.js';
import type { SubjectAltName, TLSCACertificate, TLSUpstreamConfig } from '../ir/xds.js';
import { withFreshStatus, type GatewayContext, type ProxyConfig, type WithStatus } from './contexts.js';
import { gatewayTLSOf } from './gatewaytls.js';
import { tlsCertificate } from './listeners.js';
import { sameAncestor, setAncestorCondition, type AncestorRef } from './policystatus.js';
import type { Translation } from './translation.js';

export interface BackendTLSResult {
  tls?: TLSUpstreamConfig;
  error?: string;
}

/** Client-side TLS settings: a Backend's spec.tls or an EnvoyProxy's spec.backendTLS. */
type ClientTLSSettings = BackendTLSSettings | NonNullable<EnvoyProxySpec['backendTLS']>;

/** The name of the shared Secret holding the system's CA bundle. */
export const SystemCASecretName = 'system_ca_certificates';

/**
 * Who reaches a backend, for the BackendTLSPolicy's status: a route's parentRef (with the route's
 * namespace and Gateway), or a policy whose extension service it is.
 */
export interface TLSOwner {
  ref: AncestorRef;
  route: { namespace: string };
  gateway?: GatewayContext;
}

export function backendTLSFor(t: Translation, ref: BackendRef, namespace: string, pc: TLSOwner, envoyProxy: ProxyConfig | undefined): BackendTLSResult {
  const kind = ref.kind || 'Service';
  let backendValidation: TLSUpstreamConfig | undefined;
  let backendClient: TLSUpstreamConfig | undefined;
  if (kind === 'Backend') {
    const backend = t.lookups.backend(namespace, ref.name);
    if (!backend) return { error: `Backend ${ref.name} not found` };
    const tls = backend.spec?.tls;
    if (tls) {
      const v = backendServerValidation(t, backend);
      if ('error' in v) return { error: v.error };
      backendValidation = v.tls;
      const c = clientSettings(t, tls, backend.metadata.namespace ?? '', backend.metadata.name, 'Backend');
      if ('error' in c) return { error: c.error };
      backendClient = c.tls;
    }
  }
  const policy = processBackendTLSPolicy(t, ref, namespace, pc);
  if (policy && 'error' in policy) return { error: policy.error };
  const validation = mergeValidation(backendValidation, policy?.tls);
  if (!validation) return {};
  if (!validation.insecureSkipVerify && !validation.caCertificate) {
    return { error: 'a CA certificate is required unless insecureSkipVerify is true' };
  }
  let proxyClient: TLSUpstreamConfig | undefined;
  const bt = envoyProxy?.spec?.backendTLS;
  if (bt) {
    const c = clientSettings(t, bt, envoyProxy!.metadata?.namespace ?? '', envoyProxy!.metadata?.name ?? '', 'EnvoyProxy');
    if ('error' in c) return { error: c.error };
    proxyClient = c.tls;
  }
  // A Gateway's own client certificate (spec.tls.backend) replaces the EnvoyProxy's client
  // settings; when it is set but unusable, the proxy shows no certificate rather than another.
  const gt = gatewayTLSOf(pc.gateway);
  if (gt?.clientCertificate) proxyClient = { clientCertificates: [tlsCertificate(gt.clientCertificate)] };
  else if (gt?.clientCertificateInvalid) proxyClient = undefined;
  const client = mergeClient(backendClient, proxyClient);
  const out: TLSUpstreamConfig = { ...validation, ...(client ?? {}) };
  out.minVersion ??= '1.2';
  out.maxVersion ??= '1.3';
  return { tls: out };
}

/**
 * Upstream TLS of a telemetry Backend (access log, tracing, metrics sinks): its own validation
 * settings; with one FQDN endpoint and no SNI, the SNI is that name (there is no Host header).
 */
export function telemetryBackendTLS(t: Translation, backend: Backend): BackendTLSResult {
  if (!backend.spec?.tls) return {};
  const v = backendServerValidation(t, backend);
  if ('error' in v) return { error: v.error };
  const tls = v.tls;
  const eps = backend.spec.endpoints ?? [];
  if (!tls.sni && eps.length === 1 && eps[0]!.fqdn) tls.sni = eps[0]!.fqdn.hostname;
  tls.minVersion ??= '1.2';
  tls.maxVersion ??= '1.3';
  return { tls };
}

function systemCA(t: Translation, owner: KubernetesObject): TLSCACertificate {
  return { name: t.settings.perResourceSystemCASecret ? `${owner.metadata.name}/${owner.metadata.namespace}-ca` : SystemCASecretName };
}

/** Server certificate validation from a Backend's spec.tls. */
function backendServerValidation(t: Translation, backend: Backend): { tls: TLSUpstreamConfig } | { error: string } {
  const tls = backend.spec.tls!;
  const out: TLSUpstreamConfig = {};
  if (tls.insecureSkipVerify) out.insecureSkipVerify = true;
  if (tls.sni) out.sni = tls.sni;
  if (tls.autoSNIFromEndpointHostname) out.autoSNIFromEndpointHostname = true;
  if (!out.insecureSkipVerify) {
    if (tls.wellKnownCACertificates === 'System') {
      out.useSystemTrustStore = true;
      out.caCertificate = systemCA(t, backend);
    } else if (tls.caCertificateRefs?.length) {
      const ca = caBundle(t, backend.metadata.namespace ?? '', tls.caCertificateRefs);
      if ('error' in ca) return { error: ca.error };
      out.caCertificate = { name: `${backend.metadata.name}/${backend.metadata.namespace}-ca`, certificate: ca.bundle };
    }
  }
  return { tls: out };
}

/** Client-side TLS settings (Backend spec.tls or EnvoyProxy spec.backendTLS). */
function clientSettings(t: Translation, c: ClientTLSSettings, ownerNs: string, ownerName: string, ownerKind: string): { tls?: TLSUpstreamConfig } | { error: string } {
  const out: TLSUpstreamConfig = {};
  if (c.ciphers?.length) out.ciphers = c.ciphers;
  if (c.ecdhCurves?.length) out.ecdhCurves = c.ecdhCurves;
  if (c.signatureAlgorithms?.length) out.signatureAlgorithms = c.signatureAlgorithms;
  if (c.minVersion) out.minVersion = c.minVersion;
  if (c.maxVersion) out.maxVersion = c.maxVersion;
  // ALPN given, even empty, is what is offered (an empty list turns ALPN off).
  if (c.alpnProtocols) out.alpnProtocols = [...c.alpnProtocols];
  if (c.clientCertificateRef) {
    const ns = c.clientCertificateRef.namespace ?? ownerNs;
    if (ns !== ownerNs) return { error: `the client certificate Secret must be in the ${ownerKind}'s namespace ${ownerNs}, not ${ns}` };
    const secret = t.lookups.secret(ns, c.clientCertificateRef.name);
    if (!secret) return { error: `client certificate Secret ${ownerNs}/${c.clientCertificateRef.name} of ${ownerKind} ${ownerNs}/${ownerName} not found` };
    out.clientCertificates = [tlsCertificate(secret)];
  }
  return { tls: out };
}

/** BackendTLSPolicy validation wins over the Backend's for each field it sets. */
function mergeValidation(backend: TLSUpstreamConfig | undefined, policy: TLSUpstreamConfig | undefined): TLSUpstreamConfig | undefined {
  if (!backend) return policy;
  if (!policy) return backend;
  const m = { ...backend };
  if (policy.caCertificate) {
    m.caCertificate = policy.caCertificate;
    if (policy.useSystemTrustStore) m.useSystemTrustStore = true;
    else delete m.useSystemTrustStore;
  }
  if (policy.sni) m.sni = policy.sni;
  if (policy.useSystemTrustStore) m.useSystemTrustStore = true;
  if (policy.subjectAltNames) m.subjectAltNames = policy.subjectAltNames;
  return m;
}

/** The Backend's client settings win over the EnvoyProxy's for each field it sets. */
function mergeClient(backend: TLSUpstreamConfig | undefined, proxy: TLSUpstreamConfig | undefined): TLSUpstreamConfig | undefined {
  if (!backend) return proxy;
  if (!proxy) return backend;
  const m = { ...proxy };
  if (backend.clientCertificates?.length) m.clientCertificates = backend.clientCertificates;
  for (const k of ['ciphers', 'ecdhCurves', 'signatureAlgorithms'] as const) if (backend[k]?.length) m[k] = backend[k];
  if (backend.alpnProtocols) m.alpnProtocols = backend.alpnProtocols;
  for (const k of ['minVersion', 'maxVersion'] as const) if (backend[k]) m[k] = backend[k];
  return m;
}

// ---- BackendTLSPolicy --------------------------------------------------------------------------

/** What a backendRef is, as a BackendTLSPolicy targets it: the section is the port's name (or number). */
function targetOf(t: Translation, ref: BackendRef, namespace: string): { group: string; kind: string; name: string; sectionName?: string } {
  const kind = ref.kind || 'Service';
  const target: { group: string; kind: string; name: string; sectionName?: string } = { group: ref.group ?? '', kind, name: ref.name };
  if (ref.port == null) return target;
  if (kind === 'Service' || kind === 'ServiceImport') {
    const svc = kind === 'Service' ? t.lookups.service(namespace, ref.name) : t.lookups.serviceImport(namespace, ref.name);
    const ports: { name?: string; port: number }[] = svc?.spec?.ports ?? [];
    const port = ports.find((p) => p.port === ref.port);
    if (port?.name) target.sectionName = port.name;
  } else {
    target.sectionName = String(ref.port);
  }
  return target;
}

/** The policy for a backend: one naming its exact section first, else one naming the whole backend. */
function policyFor(t: Translation, ref: BackendRef, namespace: string): WithStatus<BackendTLSPolicy> | undefined {
  const target = targetOf(t, ref, namespace);
  let whole: WithStatus<BackendTLSPolicy> | undefined;
  for (const p of t.backendTLSPolicies) {
    if (p.metadata.namespace !== namespace) continue;
    for (const tr of p.spec?.targetRefs ?? []) {
      if ((tr.group ?? '') !== target.group || tr.kind !== target.kind || tr.name !== target.name) continue;
      if (tr.sectionName == null) whole ??= p;
      else if (tr.sectionName === target.sectionName) return p;
    }
  }
  return whole;
}

function processBackendTLSPolicy(t: Translation, ref: BackendRef, namespace: string, pc: TLSOwner): { tls: TLSUpstreamConfig } | { error: string } | undefined {
  const policy = policyFor(t, ref, namespace);
  if (!policy) return undefined;
  const ancestors: AncestorRef[] = (policy.status.ancestors ?? []).map((a) => a.ancestorRef);
  const parent = { ...pc.ref };
  if (!ancestors.some((a) => sameAncestor(a, parent, pc.route.namespace))) ancestors.push(parent);
  const bundle = policyBundle(t, policy);
  if ('error' in bundle) {
    for (const a of ancestors) {
      setAncestorCondition(t, policy, a, 'Accepted', 'False', 'NoValidCACertificate', bundle.error);
      setAncestorCondition(t, policy, a, 'ResolvedRefs', 'False', bundle.invalidKind ? 'InvalidKind' : 'InvalidCACertificateRef', bundle.error);
    }
    return { error: bundle.error };
  }
  for (const a of ancestors) {
    setAncestorCondition(t, policy, a, 'ResolvedRefs', 'True', 'ResolvedRefs', 'All references are resolved');
    setAncestorCondition(t, policy, a, 'Accepted', 'True', 'Accepted', 'The policy is accepted');
  }
  return { tls: bundle.tls };
}

function policyBundle(t: Translation, policy: BackendTLSPolicy): { tls: TLSUpstreamConfig } | { error: string; invalidKind?: boolean } {
  const v: Partial<BackendTLSPolicy['spec']['validation']> = policy.spec?.validation ?? {};
  const tls: TLSUpstreamConfig = {};
  if (v.hostname) tls.sni = v.hostname;
  const sans: SubjectAltName[] = [];
  for (const san of v.subjectAltNames ?? []) {
    if (san.type === 'Hostname') sans.push({ hostname: san.hostname });
    else if (san.type === 'URI') sans.push({ uri: san.uri });
  }
  if (sans.length) tls.subjectAltNames = sans;
  if (v.wellKnownCACertificates === 'System') {
    tls.useSystemTrustStore = true;
    tls.caCertificate = systemCA(t, policy);
    return { tls };
  }
  const ca = caBundle(t, policy.metadata.namespace ?? '', v.caCertificateRefs ?? []);
  if ('error' in ca) return ca;
  tls.caCertificate = { name: `${policy.metadata.name}/${policy.metadata.namespace}-ca`, certificate: ca.bundle };
  return { tls };
}

/** The value under `ca.crt`, else under the first key (in key order). */
function caFromData(data: Record<string, string> | undefined, decode: boolean): string | undefined {
  if (!data) return undefined;
  const pick = data['ca.crt'] ?? data[Object.keys(data).sort()[0] ?? ''];
  if (pick === undefined) return undefined;
  return decode ? Buffer.from(pick, 'base64').toString('utf8') : pick;
}

/** The CA certificates of ConfigMaps, Secrets and ClusterTrustBundles, joined (base64, as IR bytes). */
function caBundle(t: Translation, namespace: string, refs: readonly { kind: string; name: string }[]): { bundle: string } | { error: string; invalidKind?: boolean } {
  const parts: string[] = [];
  for (const r of refs) {
    switch (r.kind) {
      case 'ConfigMap': {
        const cm = t.lookups.configMap(namespace, r.name);
        if (!cm) return { error: `ConfigMap ${r.name} not found in namespace ${namespace}` };
        const ca = caFromData(cm.data, false);
        if (ca === undefined) return { error: `no CA certificate in ConfigMap ${r.name}` };
        parts.push(ca);
        break;
      }
      case 'Secret': {
        const s = t.lookups.secret(namespace, r.name);
        if (!s) return { error: `Secret ${r.name} not found in namespace ${namespace}` };
        const ca = caFromData(s.data, true);
        if (ca === undefined) return { error: `no CA certificate in Secret ${r.name}` };
        parts.push(ca);
        break;
      }
      case 'ClusterTrustBundle': {
        const ctb = t.lookups.clusterTrustBundle(r.name);
        if (!ctb) return { error: `ClusterTrustBundle ${r.name} not found` };
        parts.push(ctb.spec?.trustBundle ?? '');
        break;
      }
    }
  }
  const bundle = parts.join('\n');
  if (!bundle) return { error: 'no CA bundle found in the referenced ConfigMaps, Secrets or ClusterTrustBundles', invalidKind: true };
  const bad = pemCertificatesError(bundle);
  if (bad) return { error: `invalid CA certificate: ${bad}` };
  return { bundle: Buffer.from(bundle, 'utf8').toString('base64') };
}

/** Why a PEM bundle is not a list of certificates, or undefined when it is. */
export function pemCertificatesError(pem: string): string | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) return 'no PEM certificate found';
  for (const b of blocks) {
    try {
      new X509Certificate(b);
    } catch (e) {
      return (e as Error).message;
    }
  }
  return undefined;
}

/** Output copies of the BackendTLSPolicies, made before routes apply them. */
export function prepareBackendTLSPolicies(t: Translation): void {
  t.backendTLSPolicies = t.resources.backendTLSPolicies.map((p) => withFreshStatus(p, { ...p.status, ancestors: [...(p.status?.ancestors ?? [])] }));
}

/** After all routes: a policy targeting what an earlier policy already targets is conflicted. */
export function processBackendTLSPolicyStatus(t: Translation): void {
  const owners = new Map<string, WithStatus<BackendTLSPolicy>>();
  for (const p of t.backendTLSPolicies) {
    let conflict: WithStatus<BackendTLSPolicy> | undefined;
    for (const tr of p.spec?.targetRefs ?? []) {
      const key = `${p.metadata.namespace}/${tr.group ?? ''}/${tr.kind}/${tr.name}/${tr.sectionName ?? ''}`;
      const owner = owners.get(key);
      if (owner) {
        conflict = owner;
        break;
      }
      owners.set(key, p);
    }
    if (!conflict) continue;
    for (const a of conflict.status.ancestors ?? []) {
      setAncestorCondition(t, p, a.ancestorRef, 'Accepted', 'False', 'Conflicted', `The policy conflicts with BackendTLSPolicy ${conflict.metadata.namespace}/${conflict.metadata.name}`);
    }
  }
}
