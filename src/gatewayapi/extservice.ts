// Extension services of policies (external authorization, JWKS and OIDC providers, external
// processors...): their backendRefs become one IR destination named after the policy, each
// backend a setting, with upstream TLS from BackendTLSPolicies (the policy is their ancestor).
import type { BackendRef } from '../api/envoygateway/index.js';
import type { KubernetesObject } from '../api/meta.js';
import type { AppProtocol, RouteDestination } from '../ir/xds.js';
import { backendTLSFor } from './backendtls.js';
import { EnvoyGatewayGroup, MultiClusterGroup, type ProxyConfig } from './contexts.js';
import { validateBackend, targetedByBackendTLSPolicy } from './backends.js';
import { backendDestination, externalNameMessage, resourceMetadata, serviceDestination, type DestinationSetting } from './destinations.js';
import { serviceRouting } from './envoyproxy.js';
import { referenceAllowed } from './lookups.js';
import type { Translation } from './translation.js';


export type ExtServiceResult = { destination: RouteDestination } | { error: string };

/**
 * The destination of a policy's extension service: `<kind>/<ns>/<name>/<configType>/<index>`,
 * with one setting per backendRef (`.../backend/<i>`).
 */
export function extServiceDestination(
  t: Translation,
  policy: KubernetesObject,
  policyKind: string,
  backendRefs: readonly BackendRef[],
  protocol: AppProtocol,
  envoyProxy: ProxyConfig | undefined,
  configType: string,
  index: number,
): ExtServiceResult {
  if (!backendRefs.length) return { error: 'no backendRefs found for external service' };
  const ns: string = policy.metadata?.namespace ?? '';
  const name = `${policyKind}/${ns}/${policy.metadata.name}/${configType}/${index}`.toLowerCase();
  const settings: DestinationSetting[] = [];
  for (let i = 0; i < backendRefs.length; i++) {
    const ref = backendRefs[i]!;
    const problem = validateExtServiceRef(t, ref, ns, policyKind);
    if (problem) return { error: problem };
    // A backend weighted 0 takes no traffic: it is left out.
    if (ref.weight === 0) continue;
    const r = extServiceSetting(t, `${name}/backend/${i}`, ref, policy, policyKind, protocol, envoyProxy);
    if ('error' in r) return r;
    settings.push(r.ds);
  }
  if (settings.some((s) => s.isDynamicResolver) && settings.length > 1) return { error: 'a dynamic resolver backend must be the only backend' };
  // One cluster serves every backendRef: its endpoints must be of one kind (IP, FQDN, Unix socket).
  if (new Set(settings.map((s) => s.addressType)).size > 1) return { error: 'external service destinations having multiple endpoint types are not supported' };
  return { destination: { name, settings, metadata: resourceMetadata(policy, undefined, policyKind) } };
}

function validateExtServiceRef(t: Translation, ref: BackendRef, policyNs: string, policyKind: string): string | undefined {
  const kind: string = ref.kind || 'Service';
  const group: string = ref.group ?? '';
  const ns: string = ref.namespace || policyNs;
  // A Backend may leave its group out, as in route backendRefs.
  const groupOk = (kind === 'Service' && group === '') || (kind === 'ServiceImport' && group === MultiClusterGroup) || (kind === 'Backend' && (group === EnvoyGatewayGroup || group === ''));
  if (!groupOk) return `${group ? `${group}/` : ''}${kind} is not a supported backend kind for extension services`;
  if (ns !== policyNs) {
    const from = { group: EnvoyGatewayGroup, kind: policyKind, namespace: policyNs };
    if (!referenceAllowed(t.lookups.referenceGrants, from, { group, kind, namespace: ns, name: ref.name })) {
      return `backend ref to ${kind} ${ns}/${ref.name} not permitted by any ReferenceGrant`;
    }
  }
  if (kind === 'Backend') {
    if (!t.settings.backendEnabled) return `resource ${ref.name} of type Backend cannot be used since Backend is disabled in Envoy Gateway configuration`;
    const b = t.lookups.backend(ns, ref.name);
    if (!b) return `backend ${ns}/${ref.name} not found`;
    const err = validateBackend(b, !!t.settings.runningOnHost, targetedByBackendTLSPolicy(t, b));
    return err?.message;
  }
  if (ref.port === undefined || ref.port === null) return `a valid port number corresponding to a port on the ${kind} must be specified`;
  const svc = kind === 'Service' ? t.lookups.service(ns, ref.name) : t.lookups.serviceImport(ns, ref.name);
  if (!svc) return `${kind.toLowerCase()} ${ns}/${ref.name} not found`;
  if (kind === 'Service' && svc.spec?.type === 'ExternalName') return externalNameMessage(svc);
  const ports: { port: number; protocol?: string }[] = svc.spec?.ports ?? [];
  if (!ports.some((p) => p.port === ref.port && (p.protocol || 'TCP') === 'TCP')) {
    return `TCP Port ${ref.port} not found on ${kind.toLowerCase()} ${ns}/${ref.name}`;
  }
  return undefined;
}

function extServiceSetting(
  t: Translation,
  name: string,
  ref: BackendRef,
  policy: KubernetesObject,
  policyKind: string,
  protocol: AppProtocol,
  envoyProxy: ProxyConfig | undefined,
): { ds: DestinationSetting } | { error: string } {
  const kind: string = ref.kind || 'Service';
  const policyNs: string = policy.metadata?.namespace ?? '';
  const ns: string = ref.namespace || policyNs;
  let ds: DestinationSetting;
  if (kind === 'Backend') {
    ds = backendDestination(name, t.lookups.backend(ns, ref.name)!, protocol);
  } else {
    const r = serviceDestination(t, name, ref, ns, protocol, kind, envoyProxy, undefined, true);
    if ('error' in r) return { error: r.error.message };
    ds = r.ds;
  }
  if (ds.addressType === 'Mixed' && !serviceRouting(envoyProxy)) return { error: 'mixed endpointslice address type for the same backendRef is not supported' };
  const owner = { ref: { group: EnvoyGatewayGroup, kind: policyKind, namespace: policyNs, name: policy.metadata.name }, route: { namespace: policyNs } };
  const tls = backendTLSFor(t, ref, ns, owner, envoyProxy);
  if (tls.error) return { error: tls.error };
  if (tls.tls) ds.tls = tls.tls;
  ds.weight = ref.weight ?? 1;
  if (ref.fallback === true) ds.priority = 1;
  return { ds };
}

/** The :authority for an extension service: the Backend's FQDN, else `<name>.<namespace>:<port>`. */
export function extServiceAuthority(t: Translation, ref: BackendRef, policyNs: string): string {
  const ns: string = ref.namespace || policyNs;
  const kind: string = ref.kind || 'Service';
  if (kind === 'Backend') {
    const b = t.lookups.backend(ns, ref.name);
    const fqdn = (b?.spec?.endpoints ?? []).find((e) => e.fqdn)?.fqdn;
    if (fqdn) return `${fqdn.hostname}:${fqdn.port}`;
  }
  if (kind === 'Service' || kind === 'ServiceImport') return `${ref.name}.${ns}:${ref.port}`;
  return `${ref.name}.${ns}`;
}
