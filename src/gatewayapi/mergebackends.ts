// mergeBackends: routes that reference the same backend share one cluster (a BackendCluster of the
// IR, named after the backend) instead of one cluster per route rule. A shared cluster carries
// one set of cluster settings, those a whole-Gateway BackendTrafficPolicy gives; a destination
// only merges when sharing cannot change its behaviour:
// - no policy more specific than the Gateway's shapes its cluster (decided while policies apply,
//   recorded in ClusterSharing): a route or rule policy that replaces the Gateway's (no
//   mergeType), or that merges onto it but sets cluster settings of its own; a listener or
//   ListenerSet policy that sets cluster settings;
// - its listener has no HTTP/1 options that reach the upstream connection (a ClientTrafficPolicy's
//   preserveHeaderCase, trailers, HTTP/1.0);
// - no per-backend filters, no traffic splitting that relies on host affinity, no fallback
//   priorities, no dynamic resolution.
import type { BackendTrafficPolicySpec, EnvoyProxySpec } from '../api/envoygateway/index.js';
import type { LabelSelector } from '../api/gatewayapi/index.js';
import type { BackendCluster, BackendClusterRef, DestinationSetting, HTTP1Settings, RouteDestination, TrafficFeatures } from '../ir/xds.js';
import type { GatewayContext } from './contexts.js';
import { selectorMatches } from './lookups.js';
import type { Resources } from '../resources/resources.js';
import type { Translation } from './translation.js';

/** What a shared cluster carries beside its backend: the Gateway-wide cluster settings. */
export interface SharedClusterSettings {
  traffic?: TrafficFeatures;
  useClientProtocol?: boolean;
}

/** The spec fields of a BackendTrafficPolicy that shape a backend's cluster. */
const clusterSpecFields = [
  'loadBalancer', 'retry', 'proxyProtocol', 'tcpKeepalive', 'healthCheck', 'circuitBreaker', 'timeout', 'connection', 'dns', 'http2',
  'useClientProtocol', 'routingType',
] as const satisfies readonly (keyof BackendTrafficPolicySpec)[];

/**
 * The IR traffic features that are cluster settings, by the kind of route the cluster serves:
 * what the same policy would give that kind of route without mergeBackends (a UDP route takes
 * load balancing and DNS only; a TCP route what a Gateway-wide policy gives it).
 */
const clusterTrafficFields = {
  http: ['loadBalancer', 'retry', 'proxyProtocol', 'tcpKeepalive', 'healthCheck', 'circuitBreaker', 'timeout', 'backendConnection', 'dns', 'http2'],
  tcp: ['loadBalancer', 'proxyProtocol', 'healthCheck', 'circuitBreaker', 'tcpKeepalive', 'timeout', 'dns'],
  udp: ['loadBalancer', 'dns'],
} as const satisfies Record<string, readonly (keyof TrafficFeatures)[]>;

/** The kinds of route a shared cluster may serve. */
export type ClusterProtocol = keyof typeof clusterTrafficFields;

/** Whether a BackendTrafficPolicy spec sets anything its targets' clusters are built from. */
export function setsClusterSettings(spec: Partial<BackendTrafficPolicySpec> | undefined): boolean {
  return !!spec && clusterSpecFields.some((k) => spec[k] !== undefined && spec[k] !== null);
}

/** What a whole-Gateway policy's features give the shared clusters of one kind of route. */
export function sharedSettings(f: TrafficFeatures, useClientProtocol: boolean | undefined, protocol: ClusterProtocol): SharedClusterSettings {
  const out: SharedClusterSettings = {};
  const traffic: TrafficFeatures = {};
  let any = false;
  for (const k of clusterTrafficFields[protocol]) {
    if (f[k] === undefined) continue;
    (traffic as Record<string, unknown>)[k] = structuredClone(f[k]);
    any = true;
  }
  if (any) out.traffic = traffic;
  // Only HTTP clusters choose their upstream protocol.
  if (protocol === 'http' && useClientProtocol !== undefined) out.useClientProtocol = useClientProtocol;
  return out;
}

/**
 * What policies decided about cluster sharing as they applied: the IR routes whose backends keep
 * clusters of their own, and the settings a whole-Gateway policy gives each listener's clusters.
 */
export class ClusterSharing {
  private readonly own = new WeakSet<object>();
  private readonly byListener = new Map<string, SharedClusterSettings>();

  /** The backends of this IR route (HTTP, TCP or UDP) keep their own clusters. */
  keepOwn(route: object): void {
    this.own.add(route);
  }

  keepsOwn(route: object): boolean {
    return this.own.has(route);
  }

  /** The Gateway-wide settings the shared clusters of a listener's routes carry. */
  setGatewaySettings(listenerName: string, s: SharedClusterSettings): void {
    if (!this.byListener.has(listenerName)) this.byListener.set(listenerName, s);
  }

  gatewaySettings(listenerName: string): SharedClusterSettings | undefined {
    return this.byListener.get(listenerName);
  }
}

/** The mergeBackends setting of an EnvoyProxy. */
type MergeBackends = NonNullable<EnvoyProxySpec['mergeBackends']>;

/** The mergeBackends setting of the GatewayClass's EnvoyProxy (or the default spec), if any. */
function mergeBackendsConfig(resources: Resources): MergeBackends | undefined {
  return resources.envoyProxyForGatewayClass?.spec?.mergeBackends ?? resources.envoyProxyDefaultSpec?.mergeBackends ?? undefined;
}

/** The mergeBackends setting of a Gateway's proxy: its EnvoyProxy's, else the class-wide one. */
function configFor(t: Translation, g: GatewayContext): MergeBackends | undefined {
  return g.envoyProxy?.spec?.mergeBackends ?? mergeBackendsConfig(t.resources);
}

export function mergeBackendsEnabledFor(t: Translation, g: GatewayContext): boolean {
  return !!configFor(t, g);
}

/** HTTP/1 options of a listener that Envoy applies to the upstream connection too. */
function http1ReachesUpstream(h: HTTP1Settings | undefined): boolean {
  return !!h && (!!h.preserveHeaderCase || !!h.enableTrailers || h.http10 !== undefined);
}

/** The clusters of one proxy being shared, with the settings each carries. */
class SharedClusters {
  readonly clusters = new Map<string, BackendCluster>();
  /** The settings each cluster was created with, as a comparable key. */
  private readonly keys = new Map<string, string>();

  constructor(
    private readonly t: Translation,
    private readonly selector: LabelSelector | undefined,
  ) {}

  /**
   * Moves the eligible settings of a destination into shared clusters (all of them, or for TCP
   * and UDP only when they all go to one cluster).
   */
  merge(d: RouteDestination | undefined, shared: SharedClusterSettings, splitsByAffinity: boolean, weighted: boolean): void {
    const settings = d?.settings;
    if (!d || !settings?.length) return;
    // Fallback priorities and dynamic resolution only work within one cluster.
    if (settings.some((s) => s.priority !== undefined || s.isDynamicResolver)) return;
    const key = JSON.stringify(shared);
    const names = settings.map((s) => {
      const name = backendSelected(this.t, s, this.selector) ? clusterName(s) : undefined;
      // A cluster already shared with other settings cannot take this destination as well.
      return name !== undefined && (this.keys.get(name) ?? key) === key ? name : undefined;
    });
    if (settings.length > 1) {
      if (splitsByAffinity) return;
      // TCP and UDP route to a single cluster: several backends merge only into the same one.
      if (!weighted && (names.some((n) => !n) || new Set(names).size > 1)) return;
    }
    const refs: BackendClusterRef[] = [];
    const kept: DestinationSetting[] = [];
    settings.forEach((s, i) => {
      const name = names[i];
      if (!name) {
        kept.push(s);
        return;
      }
      if (!this.clusters.has(name)) {
        const { weight: _weight, ...setting } = s;
        const cluster: BackendCluster = { name, metadata: s.metadata, setting: { ...setting, name } };
        if (shared.traffic) cluster.traffic = structuredClone(shared.traffic);
        if (shared.useClientProtocol !== undefined) cluster.useClientProtocol = shared.useClientProtocol;
        this.clusters.set(name, cluster);
        this.keys.set(name, key);
      }
      refs.push({ name, weight: s.weight ?? 1 });
    });
    if (!refs.length) return;
    d.backendClusterRefs = refs;
    if (kept.length) d.settings = kept;
    else delete d.settings;
  }
}

/** Merges the eligible destinations of every proxy whose Gateways enable mergeBackends. */
export function mergeBackendClusters(t: Translation): void {
  const done = new Set<string>();
  const sharing = t.clusterSharing;
  for (const g of t.accepted) {
    const key = t.irKey(g);
    if (done.has(key)) continue;
    done.add(key);
    const cfg = configFor(t, g);
    if (!cfg) continue;
    const xds = t.xdsIR[key];
    if (!xds) continue;
    const shared = new SharedClusters(t, cfg.selector);
    for (const l of xds.http ?? []) {
      if (http1ReachesUpstream(l.http1)) continue;
      const settings = sharing.gatewaySettings(l.name) ?? {};
      for (const r of l.routes ?? []) {
        if (sharing.keepsOwn(r)) continue;
        const splitsByAffinity = !!r.sessionPersistence || !!r.traffic?.loadBalancer?.consistentHash;
        shared.merge(r.destination, settings, splitsByAffinity, true);
      }
    }
    for (const l of xds.tcp ?? []) {
      const settings = sharing.gatewaySettings(l.name) ?? {};
      for (const r of l.routes ?? []) if (!sharing.keepsOwn(r)) shared.merge(r.destination, settings, !!r.loadBalancer?.consistentHash, false);
    }
    for (const l of xds.udp ?? []) {
      const r = l.route;
      if (r && !sharing.keepsOwn(r)) shared.merge(r.destination, sharing.gatewaySettings(l.name) ?? {}, !!r.loadBalancer?.consistentHash, false);
    }
    if (shared.clusters.size) xds.backendClusters = [...shared.clusters.values()];
  }
}

/** The shared cluster name of a setting: `<kind>/<namespace>/<name>/<section>/<protocol>`. */
function clusterName(s: DestinationSetting): string | undefined {
  if (s.isDynamicResolver || s.invalid || s.filters) return undefined;
  const md = s.metadata;
  if (!md?.kind || !md.name) return undefined;
  let name = `${md.kind.toLowerCase()}/${md.namespace ?? ''}/${md.name}`;
  if (md.sectionName) name += `/${md.sectionName}`;
  if (s.protocol) name += `/${String(s.protocol).toLowerCase()}`;
  return name;
}

/** Whether the backend of a setting is selected by the mergeBackends selector (all when none). */
function backendSelected(t: Translation, s: DestinationSetting, selector: LabelSelector | undefined): boolean {
  if (!selector) return true;
  const md = s.metadata;
  if (!md) return false;
  const ns = md.namespace ?? '';
  const name = md.name ?? '';
  const obj =
    md.kind === 'Service'
      ? t.lookups.service(ns, name)
      : md.kind === 'ServiceImport'
        ? t.lookups.serviceImport(ns, name)
        : md.kind === 'Backend'
          ? t.lookups.backend(ns, name)
          : undefined;
  return !!obj && selectorMatches(selector, obj.metadata?.labels);
}
