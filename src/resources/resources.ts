// The Resources bundle: everything one GatewayClass needs to be translated, gathered by a provider
// (file, Kubernetes, the golden corpus) into one value. The field names are those of Envoy
// Gateway's resource bundle, which is also the keyed-list form of the golden corpus inputs.
import type { ClusterTrustBundle, ConfigMap, EndpointSlice, Namespace, Secret, Service, ServiceImport } from '../api/core/index.js';
import type {
  Backend, BackendTrafficPolicy, ClientTrafficPolicy, EnvoyExtensionPolicy, EnvoyPatchPolicy, EnvoyProxy, EnvoyProxySpec,
  HTTPRouteFilter, SecurityPolicy,
} from '../api/envoygateway/index.js';
import type {
  BackendTLSPolicy, Gateway, GatewayClass, GRPCRoute, HTTPRoute, ListenerSet, ReferenceGrant, TCPRoute, TLSRoute, UDPRoute,
} from '../api/gatewayapi/index.js';
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

/**
 * The kind each list holds, as the API types describe it (the input form: defaults not applied).
 * Extension server policies and extension filters belong to an extension server: unstructured.
 */
export interface ResourceTypes {
  envoyProxiesForGateways: EnvoyProxy;
  gateways: Gateway;
  httpRoutes: HTTPRoute;
  grpcRoutes: GRPCRoute;
  tlsRoutes: TLSRoute;
  tcpRoutes: TCPRoute;
  udpRoutes: UDPRoute;
  referenceGrants: ReferenceGrant;
  namespaces: Namespace;
  services: Service;
  serviceImports: ServiceImport;
  endpointSlices: EndpointSlice;
  secrets: Secret;
  configMaps: ConfigMap;
  clusterTrustBundles: ClusterTrustBundle;
  extensionRefFilters: AnyObject;
  envoyPatchPolicies: EnvoyPatchPolicy;
  clientTrafficPolicies: ClientTrafficPolicy;
  backendTrafficPolicies: BackendTrafficPolicy;
  securityPolicies: SecurityPolicy;
  backendTLSPolicies: BackendTLSPolicy;
  envoyExtensionPolicies: EnvoyExtensionPolicy;
  extensionServerPolicies: AnyObject;
  backends: Backend;
  httpFilters: HTTPRouteFilter;
  listenerSets: ListenerSet;
}

export type Resources = { [K in ResourceList]: ResourceTypes[K][] } & {
  gatewayClass?: GatewayClass;
  envoyProxyForGatewayClass?: EnvoyProxy;
  /** The EnvoyProxy spec the EnvoyGateway configuration sets for every GatewayClass. */
  envoyProxyDefaultSpec?: EnvoyProxySpec;
  /**
   * OpenID Connect discovery documents, by issuer, of the OIDC providers whose endpoints are left
   * to discovery: fetched by the provider (see provider/oidcdiscovery.ts), as the translator does no I/O.
   */
  oidcDiscovery?: Record<string, OIDCDiscoveryDocument>;
};

/** The fields of an OpenID Provider's discovery document (/.well-known/openid-configuration) used here. */
export interface OIDCDiscoveryDocument {
  issuer?: string;
  authorization_endpoint?: string;
  token_endpoint?: string;
  end_session_endpoint?: string;
}

/**
 * Adds an object read from a manifest to its list. Objects are checked against their kind's schema
 * where they are read (providers) or taken as written (golden cases); either way they are the
 * kind's input form from here on.
 */
export function addObject(r: Resources, list: ResourceList, o: KubernetesObject): void {
  listsOf(r)[list].push(o);
}

/** The bundle's lists seen as plain objects, for what works on every kind alike. */
function listsOf(r: Resources): Record<ResourceList, KubernetesObject[]> {
  return r as unknown as Record<ResourceList, KubernetesObject[]>;
}

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
/** The keys of a keyed-list document: the lists, the GatewayClass and its EnvoyProxy settings. */
export type ResourceKey = ResourceList | 'gatewayClass' | 'envoyProxyForGatewayClass' | 'envoyProxyDefaultSpec';

const keyByLowerCase = new Map<string, ResourceKey>(
  ([...resourceLists, 'gatewayClass', 'envoyProxyForGatewayClass', 'envoyProxyDefaultSpec'] as const).map((k) => [k.toLowerCase(), k]),
);

/** The bundle field a keyed-list key names, or undefined when it names none. */
export function resourceKey(key: string): ResourceKey | undefined {
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
    if (field === 'gatewayClass') into.gatewayClass = value as GatewayClass;
    else if (field === 'envoyProxyForGatewayClass') into.envoyProxyForGatewayClass = value as EnvoyProxy;
    else if (field === 'envoyProxyDefaultSpec') into.envoyProxyDefaultSpec = value as EnvoyProxySpec;
    else if (Array.isArray(value)) {
      listsOf(into)[field].push(...(value as KubernetesObject[]));
    } else {
      unknown.push(key);
    }
  }
  return unknown;
}

function creationTime(o: KubernetesObject): number {
  const t = o.metadata?.creationTimestamp;
  if (!t) return 0;
  const ms = t instanceof Date ? t.getTime() : Date.parse(String(t));
  return Number.isNaN(ms) ? 0 : ms;
}

/** Oldest first, then by namespace/name: the order in which conflicts are resolved. */
export function compareByAge(a: KubernetesObject, b: KubernetesObject): number {
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
export function sortByAge<T extends KubernetesObject>(list: T[]): T[] {
  if (list.length < 2) return list;
  const keyed = list.map((o) => ({ o, t: creationTime(o), n: `${o.metadata.namespace ?? ''}/${o.metadata.name}` }));
  keyed.sort((a, b) => a.t - b.t || (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  for (let i = 0; i < keyed.length; i++) list[i] = keyed[i]!.o;
  return list;
}

/** Sorts every list of the bundle by creation time, then namespace/name (as providers hand it over). */
export function sortResources(r: Resources): Resources {
  const lists = listsOf(r);
  for (const k of resourceLists) sortByAge(lists[k]);
  return r;
}

/** Replaces every object of the bundle (lists, GatewayClass, its EnvoyProxy) by f of it. */
export function mapResources(r: Resources, f: <T extends KubernetesObject>(o: T) => T): void {
  const lists = listsOf(r);
  for (const k of resourceLists) lists[k] = lists[k].map(f);
  if (r.gatewayClass) r.gatewayClass = f(r.gatewayClass);
  if (r.envoyProxyForGatewayClass) r.envoyProxyForGatewayClass = f(r.envoyProxyForGatewayClass);
}
