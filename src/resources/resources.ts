// The Resources bundle: everything one GatewayClass needs to be translated, gathered by a provider
// (file, Kubernetes, the golden corpus) into one value. The field names are those of Envoy
// Gateway's resource bundle, which is also the keyed-list form of the golden corpus inputs.
import type { KubernetesObject } from '../api/meta.js';

/** Any Kubernetes object as it was read: metadata typed, everything else kept as written. */
export interface AnyObject extends KubernetesObject {
  spec?: any;
  status?: any;
  [field: string]: any;
}

/** The list-valued fields of the bundle, in the order Envoy Gateway declares them. */
export const resourceLists = [
  'envoyProxiesForGateways',
  'gateways',
  'httpRoutes',
  'grpcRoutes',
  'tlsRoutes',
  'tcpRoutes',
  'udpRoutes',
  'referenceGrants',
  'namespaces',
  'services',
  'serviceImports',
  'endpointSlices',
  'secrets',
  'configMaps',
  'clusterTrustBundles',
  'extensionRefFilters',
  'envoyPatchPolicies',
  'clientTrafficPolicies',
  'backendTrafficPolicies',
  'securityPolicies',
  'backendTLSPolicies',
  'envoyExtensionPolicies',
  'extensionServerPolicies',
  'backends',
  'httpFilters',
  'listenerSets',
] as const;

export type ResourceList = (typeof resourceLists)[number];

export type Resources = { [K in ResourceList]: AnyObject[] } & {
  gatewayClass?: AnyObject;
  envoyProxyForGatewayClass?: AnyObject;
  /** The EnvoyProxy spec the EnvoyGateway configuration sets for every GatewayClass. */
  envoyProxyDefaultSpec?: Record<string, any>;
};

/** The kind each list holds, for providers that read plain Kubernetes manifests. */
export const listOfKind: Record<string, ResourceList> = {
  Gateway: 'gateways',
  HTTPRoute: 'httpRoutes',
  GRPCRoute: 'grpcRoutes',
  TLSRoute: 'tlsRoutes',
  TCPRoute: 'tcpRoutes',
  UDPRoute: 'udpRoutes',
  ReferenceGrant: 'referenceGrants',
  Namespace: 'namespaces',
  Service: 'services',
  ServiceImport: 'serviceImports',
  EndpointSlice: 'endpointSlices',
  Secret: 'secrets',
  ConfigMap: 'configMaps',
  ClusterTrustBundle: 'clusterTrustBundles',
  EnvoyPatchPolicy: 'envoyPatchPolicies',
  ClientTrafficPolicy: 'clientTrafficPolicies',
  BackendTrafficPolicy: 'backendTrafficPolicies',
  SecurityPolicy: 'securityPolicies',
  BackendTLSPolicy: 'backendTLSPolicies',
  EnvoyExtensionPolicy: 'envoyExtensionPolicies',
  Backend: 'backends',
  HTTPRouteFilter: 'httpFilters',
  ListenerSet: 'listenerSets',
  XListenerSet: 'listenerSets',
};

export function emptyResources(): Resources {
  const r = {} as Resources;
  for (const k of resourceLists) r[k] = [];
  return r;
}

// Keys of a keyed-list document are matched case-insensitively (the corpus writes both
// `endpointSlices` and `endpointslices`).
const keyByLowerCase = new Map<string, keyof Resources>(
  [...resourceLists, 'gatewayClass', 'envoyProxyForGatewayClass', 'envoyProxyDefaultSpec'].map((k) => [k.toLowerCase(), k as keyof Resources]),
);

/** The bundle field a keyed-list key names, or undefined when it names none. */
export function resourceKey(key: string): keyof Resources | undefined {
  return keyByLowerCase.get(key.toLowerCase());
}

/**
 * Adds the lists of a keyed-list document (`{gateways: [...], httpRoutes: [...]}`) to a bundle.
 * Returns the keys it did not recognise, so that the caller can report them.
 */
export function addKeyedLists(into: Resources, doc: Record<string, unknown>): string[] {
  const unknown: string[] = [];
  for (const [key, value] of Object.entries(doc)) {
    const field = resourceKey(key);
    if (!field) {
      unknown.push(key);
      continue;
    }
    if (value == null) continue;
    if (field === 'gatewayClass' || field === 'envoyProxyForGatewayClass' || field === 'envoyProxyDefaultSpec') {
      (into as any)[field] = value;
    } else if (Array.isArray(value)) {
      into[field].push(...(value as AnyObject[]));
    } else {
      unknown.push(key);
    }
  }
  return unknown;
}

function creationTime(o: AnyObject): number {
  const t = o.metadata?.creationTimestamp;
  if (!t) return 0;
  const ms = t instanceof Date ? t.getTime() : Date.parse(String(t));
  return Number.isNaN(ms) ? 0 : ms;
}

/** Oldest first, then by namespace/name: the order in which conflicts are resolved. */
export function compareByAge(a: AnyObject, b: AnyObject): number {
  const d = creationTime(a) - creationTime(b);
  if (d !== 0) return d;
  const an = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const bn = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/**
 * Sorts objects as compareByAge does, each object's keys computed once rather than in every
 * comparison (parsing timestamps in the comparator dominated gathering 10,000 routes).
 */
export function sortByAge<T extends AnyObject>(list: T[]): T[] {
  if (list.length < 2) return list;
  const keyed = list.map((o) => ({ o, t: creationTime(o), n: `${o.metadata.namespace ?? ''}/${o.metadata.name}` }));
  keyed.sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  for (let i = 0; i < keyed.length; i++) list[i] = keyed[i]!.o;
  return list;
}

/** Sorts every list of the bundle by creation time, then namespace/name (as providers hand it over). */
export function sortResources(r: Resources): Resources {
  for (const k of resourceLists) sortByAge(r[k]);
  return r;
}

/** Replaces every object of the bundle (lists, GatewayClass, its EnvoyProxy) by f of it. */
export function mapResources(r: Resources, f: (o: AnyObject) => AnyObject): void {
  for (const k of resourceLists) r[k] = r[k].map(f);
  if (r.gatewayClass) r.gatewayClass = f(r.gatewayClass);
  if (r.envoyProxyForGatewayClass) r.envoyProxyForGatewayClass = f(r.envoyProxyForGatewayClass);
}
