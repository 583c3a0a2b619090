// Backend references: their validation (kind, namespace grants, port, existence) and their
// translation into IR destination settings with endpoints (Service, ServiceImport, Backend).
import type { Service, ServiceImport, EndpointSlice } from '../api/core/index.js';
import type { Backend } from '../api/envoygateway/index.js';
import type { BackendRef } from '../api/gatewayapi/index.js';
import type { KubernetesObject } from '../api/meta.js';
import type {
  AppProtocol, DestinationAddressType, DestinationEndpoint, DestinationFilters, DestinationSetting, IPFamily, PreferLocalZone, ResourceMetadata,
} from '../ir/xds.js';
import { EnvoyGatewayGroup, GatewayGroup, MultiClusterGroup, type ProxyConfig, type RouteContext, type RouteKind, type RouteParentContext } from './contexts.js';
import { backendTLSFor } from './backendtls.js';
import type { RouteFilter } from './filters.js';
import { serviceRouting } from './envoyproxy.js';
import { egAnnotations } from './listeners.js';
import { referenceAllowed } from './lookups.js';
import { Reason, RouteError } from './status.js';
import type { Translation } from './translation.js';


export type { DestinationSetting };

/** The IR protocol a route kind implies for its backends. */
export function protocolForRoute(kind: RouteKind): AppProtocol {
  switch (kind) {
    case 'HTTPRoute':
      return 'HTTP';
    case 'GRPCRoute':
      return 'GRPC';
    case 'UDPRoute':
      return 'UDP';
    default:
      return 'TCP';
  }
}

/** IR metadata of an object: kind, name, namespace, Envoy Gateway annotations, section. */
export function resourceMetadata(o: KubernetesObject, sectionName?: string, kind?: string): ResourceMetadata {
  const md: ResourceMetadata = { kind: kind ?? o.kind, name: o.metadata.name, namespace: o.metadata.namespace };
  const ann = egAnnotations(o.metadata.annotations);
  if (ann) md.annotations = ann;
  if (sectionName) md.sectionName = sectionName;
  return md;
}

export function endpoint(host: string, port: number, draining = false, zone?: string, hostname?: string): DestinationEndpoint {
  const ep: DestinationEndpoint = { host, port };
  if (draining) ep.draining = true;
  if (zone) ep.zone = zone;
  if (hostname) ep.hostname = hostname;
  return ep;
}

// ---- validation --------------------------------------------------------------------------------

const kindOf = (ref: BackendRef) => ref.kind || 'Service';

/** Checks a route's backendRef; returns the error that makes it unusable, if any. */
export function validateBackendRef(t: Translation, ref: BackendRef, filters: readonly RouteFilter[] | undefined, rc: RouteContext, backendNamespace: string): RouteError | undefined {
  const filterErr = validateBackendRefFilters(rc.kind, filters);
  if (filterErr) return filterErr;
  const kind = kindOf(ref);
  const group = ref.group ?? '';
  if (group !== '' && group !== MultiClusterGroup && !(kind === 'Backend' && group === EnvoyGatewayGroup)) {
    return new RouteError(`group ${group} is not supported; use the core group, ${MultiClusterGroup} or ${EnvoyGatewayGroup} (Backend)`, Reason.InvalidKind);
  }
  if (kind !== 'Service' && kind !== 'ServiceImport' && kind !== 'Backend') {
    return new RouteError(`kind ${kind} is not supported; use Service, ServiceImport or Backend`, Reason.InvalidKind);
  }
  if (kind === 'Backend' && !t.settings.backendEnabled) {
    return new RouteError('the Backend kind is not enabled in the EnvoyGateway configuration', Reason.UnsupportedValue);
  }
  if (ref.namespace && ref.namespace !== rc.namespace) {
    const ok = referenceAllowed(t.lookups.referenceGrants, { group: GatewayGroup, kind: rc.kind, namespace: rc.namespace }, { group, kind, namespace: ref.namespace, name: ref.name });
    if (!ok) return new RouteError(`no ReferenceGrant allows a reference to ${kind} ${ref.namespace}/${ref.name}`, Reason.RefNotPermitted);
  }
  if (kind === 'Backend') return validateBackendKind(t, backendNamespace, ref.name);
  if (ref.port === undefined || ref.port === null) {
    return new RouteError('a port of the Service must be given', Reason.PortNotSpecified);
  }
  const protocol = rc.kind === 'UDPRoute' ? 'UDP' : 'TCP';
  const target = kind === 'Service' ? t.lookups.service(backendNamespace, ref.name) : t.lookups.serviceImport(backendNamespace, ref.name);
  if (!target) return new RouteError(`${kind} ${backendNamespace}/${ref.name} not found`, Reason.BackendNotFound);
  if (kind === 'Service' && target.spec?.type === 'ExternalName') return new RouteError(externalNameMessage(target), Reason.UnsupportedValue);
  const ports: { port: number; protocol?: string }[] = target.spec?.ports ?? [];
  const found = ports.some((p) => p.port === ref.port && (p.protocol || 'TCP') === protocol);
  if (!found) return new RouteError(`${protocol} port ${ref.port} not found on ${kind} ${backendNamespace}/${ref.name}`, Reason.PortNotFound);
  return undefined;
}

/** ExternalName Services are not backends: an FQDN Backend does that job. */
export function externalNameMessage(svc: KubernetesObject): string {
  return `Service ${svc.metadata.namespace}/${svc.metadata.name} is of type ExternalName, which is not supported as a backend; use an Envoy Gateway Backend resource with an FQDN endpoint instead`;
}

function validateBackendKind(t: Translation, namespace: string, name: string): RouteError | undefined {
  const backend = t.lookups.backend(namespace, name);
  if (!backend) return new RouteError(`Backend ${namespace}/${name} not found`, Reason.BackendNotFound);
  return t.backendErrors.get(backend);
}

/** Filters inside a backendRef: header modifiers, host rewrites and extension filters only. */
function validateBackendRefFilters(kind: RouteKind, filters: readonly RouteFilter[] | undefined): RouteError | undefined {
  if (!filters?.length) return undefined;
  let unsupported = false;
  if (kind === 'HTTPRoute') {
    for (const f of filters) {
      if (f.type === 'URLRewrite' && 'urlRewrite' in f && f.urlRewrite?.path) {
        return new RouteError('a URLRewrite inside a backendRef can only rewrite the hostname', Reason.UnsupportedRefValue);
      }
      if (!['RequestHeaderModifier', 'ResponseHeaderModifier', 'ExtensionRef', 'URLRewrite'].includes(f.type)) unsupported = true;
    }
  } else if (kind === 'GRPCRoute') {
    for (const f of filters) if (!['RequestHeaderModifier', 'ResponseHeaderModifier', 'ExtensionRef'].includes(f.type)) unsupported = true;
  } else return undefined;
  if (unsupported) return new RouteError('this filter type is not supported inside a backendRef', Reason.UnsupportedRefValue);
  return undefined;
}

// ---- destination settings ----------------------------------------------------------------------

export interface DestinationResult {
  ds: DestinationSetting;
  error?: RouteError;
}

/**
 * Translates one backendRef of a route into a destination setting. An unusable backendRef gives
 * an empty setting (no endpoints) and the error that explains it.
 */
export function processDestination(
  t: Translation,
  name: string,
  ref: BackendRef,
  filters: readonly RouteFilter[] | undefined,
  pc: RouteParentContext,
  rc: RouteContext,
  applyFilters: (filters: readonly RouteFilter[]) => { destFilters?: DestinationFilters; error?: RouteError },
  ruleName?: string,
): DestinationResult {
  const weight = ref.weight ?? 1;
  const empty: DestinationSetting = { name, weight };
  const backendNamespace = ref.namespace || rc.namespace;
  const err = validateBackendRef(t, ref, filters, rc, backendNamespace);
  if (err) return { ds: empty, error: err };
  if (weight === 0) return { ds: empty };

  const envoyProxy = pc.gateway?.envoyProxy;
  // A BackendTrafficPolicy may choose Service or endpoint routing over the EnvoyProxy's choice.
  const routingType = t.routingTypes?.lookup(rc, pc, ruleName);
  const protocol = protocolForRoute(rc.kind);
  const kind = kindOf(ref);

  const tls = backendTLSFor(t, ref, backendNamespace, pc, envoyProxy);
  if (tls.error) return { ds: empty, error: new RouteError(tls.error, Reason.InvalidBackendTLS) };

  let ds: DestinationSetting;
  if (kind === 'Backend') {
    ds = backendDestination(name, t.lookups.backend(backendNamespace, ref.name)!, protocol);
    if (ds.endpoints?.some((e) => e.path !== undefined)) {
      return { ds: empty, error: new RouteError('unix domain sockets are not supported in backend references', Reason.UnsupportedAddressType) };
    }
  } else {
    const r = serviceDestination(t, name, ref, backendNamespace, protocol, kind, envoyProxy, routingType);
    if ('error' in r) return { ds: empty, error: r.error };
    ds = r.ds;
  }
  if (tls.tls) ds.tls = tls.tls;

  if (filters?.length) {
    const f = applyFilters(filters);
    if (f.error) return { ds: empty, error: new RouteError(f.error.message, Reason.InvalidBackendFilters) };
    if (f.destFilters) {
      ds.filters = f.destFilters;
      if (f.destFilters.urlRewrite?.host?.backend) setServiceHostnames(t, ds);
    }
  }

  if (ds.addressType === 'Mixed' && (kind === 'Backend' || !serviceRouting(envoyProxy, routingType))) {
    const what = kind === 'Backend' ? 'FQDN and IP or Unix addresses' : 'EndpointSlice address types';
    return { ds: empty, error: new RouteError(`mixed ${what} in one backendRef are not supported`, Reason.UnsupportedAddressType) };
  }
  ds.weight = weight;
  return { ds };
}

/** With a host rewrite to the backend, Service endpoints carry the Service's DNS name. */
export function setServiceHostnames(t: Translation, ds: DestinationSetting): void {
  const md = ds.metadata;
  if (!md || md.kind !== 'Service' || !md.name || !md.namespace) return;
  const host = `${md.name}.${md.namespace}.svc.${t.dnsDomain}`;
  for (const ep of ds.endpoints ?? []) ep.hostname = host;
}

function appProtocolFor(ap: string | undefined, fallback: AppProtocol, grpc: boolean): AppProtocol {
  if (ap === 'kubernetes.io/h2c') return 'HTTP2';
  if (ap === 'grpc' && grpc) return 'GRPC';
  return fallback;
}

/** The destination setting of a Service or ServiceImport port: its endpoints, or its cluster IP. */
export function serviceDestination(
  t: Translation,
  name: string,
  ref: BackendRef,
  namespace: string,
  protocol: AppProtocol,
  kind: string,
  envoyProxy: ProxyConfig | undefined,
  policyRoutingType?: string,
  /** Extension services keep a backend without ready endpoints (it just has none). */
  allowNoEndpoints = false,
): { ds: DestinationSetting } | { error: RouteError } {
  const isImport = kind === 'ServiceImport';
  const imported = isImport ? t.lookups.serviceImport(namespace, ref.name)! : undefined;
  const service = isImport ? undefined : t.lookups.service(namespace, ref.name)!;
  const svc: Service | ServiceImport = imported ?? service!;
  const ports: { name?: string; protocol?: string; appProtocol?: string; port: number }[] = svc.spec?.ports ?? [];
  const port: Partial<(typeof ports)[number]> = ports.find((p) => p.port === ref.port) ?? {};
  const proto = port.appProtocol ? appProtocolFor(port.appProtocol, protocol, true) : protocol;
  const headless = imported ? !((imported.spec?.ips?.length ?? 0) > 0) : service!.spec?.clusterIP === 'None';
  let endpoints: DestinationEndpoint[] = [];
  let addressType: DestinationAddressType | undefined;
  if (!serviceRouting(envoyProxy, policyRoutingType) || headless) {
    const slices = t.lookups.endpointSlices(namespace, ref.name, kind);
    ({ endpoints, addressType } = endpointsFromSlices(slices, port.name ?? '', port.protocol || 'TCP'));
    if (endpoints.length === 0 && !allowNoEndpoints) {
      return { error: new RouteError(`no ready endpoints for ${kind} ${namespace}/${ref.name}`, Reason.EndpointsNotFound) };
    }
  } else if (imported) {
    endpoints = (imported.spec?.ips ?? []).map((ip) => endpoint(ip, ref.port!));
  } else {
    endpoints = [endpoint(service!.spec?.clusterIP!, ref.port!)];
  }
  const ds: DestinationSetting = { name, protocol: proto, endpoints, metadata: resourceMetadata(svc, String(ref.port), kind) };
  if (addressType) ds.addressType = addressType;
  // WebSocket backends take HTTP/1.1 (the upgrade needs it), whatever the downstream speaks.
  if (port.appProtocol === 'kubernetes.io/ws' || port.appProtocol === 'kubernetes.io/wss') ds.forceHTTP1Upstream = true;
  if (service) {
    const pl = preferLocalZone(service);
    if (pl) ds.preferLocal = pl;
    const fam = serviceIPFamily(service);
    if (fam) ds.ipFamily = fam;
  }
  return { ds };
}

function preferLocalZone(svc: Service): PreferLocalZone | undefined {
  if (svc.spec?.trafficDistribution) return { minEndpointsThreshold: 1, force: { minEndpointsInZoneThreshold: 1 } };
  const mode = svc.metadata?.annotations?.['service.kubernetes.io/topology-mode'];
  if (mode === 'Auto' || mode === 'auto') return { minEndpointsThreshold: 3, force: { minEndpointsInZoneThreshold: 3 } };
  return undefined;
}

function serviceIPFamily(svc: Service): IPFamily | undefined {
  const fams: string[] = svc.spec?.ipFamilies ?? [];
  const policy = svc.spec?.ipFamilyPolicy;
  if (policy === 'RequireDualStack' || (policy === 'PreferDualStack' && fams.length > 1)) return 'DualStack';
  if (fams.length === 1 && fams[0] === 'IPv6') return 'IPv6';
  return undefined;
}

/** Endpoints of the slices for one port (by name and protocol), with the common address type. */
export function endpointsFromSlices(slices: readonly EndpointSlice[], portName: string, portProtocol: string): { endpoints: DestinationEndpoint[]; addressType?: DestinationAddressType } {
  const endpoints: DestinationEndpoint[] = [];
  let fqdn = 0;
  for (const slice of slices) {
    if (slice.addressType === 'FQDN') fqdn++;
    for (const ep of slice.endpoints ?? []) {
      for (const p of slice.ports ?? []) {
        if ((p.name ?? '') !== portName || (p.protocol ?? 'TCP') !== portProtocol) continue;
        const c = ep.conditions ?? {};
        // Unknown serving/terminating fall back to ready.
        const draining = c.serving != null && c.terminating != null ? !!c.terminating || !c.serving : c.ready === false;
        for (const a of ep.addresses ?? []) endpoints.push(endpoint(a, p.port!, draining, ep.zone));
      }
    }
  }
  let addressType: DestinationAddressType | undefined;
  if (slices.length) addressType = fqdn === slices.length ? 'FQDN' : fqdn === 0 ? 'IP' : 'Mixed';
  return { endpoints, addressType };
}

function backendAppProtocol(ap: string, fallback: AppProtocol): AppProtocol {
  if (ap === 'gateway.envoyproxy.io/h2c') return 'HTTP2';
  if (ap === 'grpc') return 'GRPC';
  return fallback;
}

/** The destination setting of an Envoy Gateway Backend: IP, FQDN or Unix socket endpoints. */
export function backendDestination(name: string, backend: Backend, protocol: AppProtocol): DestinationSetting {
  const spec: Partial<Backend['spec']> = backend.spec ?? {};
  let proto = protocol;
  for (const ap of spec.appProtocols ?? []) proto = backendAppProtocol(ap, proto);
  const ds: DestinationSetting = { name };
  if ((spec.appProtocols ?? []).some((ap) => ap === 'gateway.envoyproxy.io/ws' || ap === 'gateway.envoyproxy.io/wss')) ds.forceHTTP1Upstream = true;
  if (spec.type === 'DynamicResolver') {
    ds.isDynamicResolver = true;
    ds.protocol = proto;
    return ds;
  }
  const counts = new Map<DestinationAddressType, number>();
  const endpoints: DestinationEndpoint[] = [];
  for (const ep of spec.endpoints ?? []) {
    if (ep.ip) {
      counts.set('IP', (counts.get('IP') ?? 0) + 1);
      endpoints.push(endpoint(ep.ip.address, ep.ip.port, false, ep.zone, ep.hostname));
    } else if (ep.fqdn) {
      counts.set('FQDN', (counts.get('FQDN') ?? 0) + 1);
      endpoints.push(endpoint(ep.fqdn.hostname, ep.fqdn.port, false, ep.zone, ep.hostname));
    } else if (ep.unix) {
      counts.set('UDS', (counts.get('UDS') ?? 0) + 1);
      // A Unix socket has a path instead of a host and port.
      const e: DestinationEndpoint = { host: '', port: 0, path: ep.unix.path };
      if (ep.zone) e.zone = ep.zone;
      endpoints.push(e);
    }
  }
  const total = (spec.endpoints ?? []).length;
  for (const [type, n] of counts) if (n === total) ds.addressType = type;
  // IP addresses and Unix sockets together are static endpoints still; with FQDNs they are mixed.
  if (counts.size && !ds.addressType) ds.addressType = counts.has('FQDN') ? 'Mixed' : 'STATIC';
  ds.endpoints = endpoints;
  ds.protocol = proto;
  if (spec.fallback === true) ds.priority = 1;
  ds.metadata = resourceMetadata(backend, undefined, 'Backend');
  return ds;
}
