// The built-in proxy: holds the xDS resources it was given, compiles them, and applies them to
// the running data plane (listeners, route tables, clusters, endpoints, secrets). An update is
// applied whole or not at all: if any resource in it cannot be applied, the update is refused
// with problems that name the resource and field, and traffic keeps flowing on the last good
// configuration. Runtime state (connection pools, health) survives updates that leave a cluster
// unchanged; route tables swap atomically under in-flight requests.
import { readFileSync } from 'node:fs';
import { compileResource, type ConfigProblem } from './config/errors.js';
import type { Json } from './config/json.js';
import { CLUSTER, ENDPOINT, KIND_OF, LISTENER, RESOURCE_TYPES, ROUTE, SECRET, resourceName, type ResourceType } from './config/type_urls.js';
import type { RouteConfigProvider } from './http/hcm_config.js';
import { perFilterSecretNames } from './http/filter_registry.js';
import type { HttpFilter } from './http/filter.js';
import './http/hcm_filter.js';
import './http/h2_server.js';
import './upstream/h2_pool.js';
import './http/filters/index.js';
import './http/access_loggers/index.js';
import './tcp/tcp_proxy.js';
import './tcp/rbac.js';
import './tcp/connection_limit.js';
import './udp/udp_proxy.js';
import { compileListener, type ListenerConfig } from './listener/listener_config.js';
import { ListenerManager, type ListenerExtensions } from './listener/manager.js';
import type { NetworkFilterContext } from './listener/network_filter.js';
import { compileRouteConfiguration } from './router/route_table.js';
import { mountedPath } from './config/mounts.js';
import { compileSecret, type Secret } from './tls/secrets.js';
import { Cluster, type PoolFactory } from './upstream/cluster.js';
import { compileCluster, type ClusterSettings } from './upstream/cluster_config.js';
import type { ClusterManagerView } from './upstream/cluster_manager.js';
import { compileAssignment, type Assignment } from './upstream/endpoints.js';
import { defaultPoolFactory } from './upstream/pools.js';
import { attachClusterHealth, type HealthOptions } from './health/cluster_health.js';
import { ownedStats } from './stats.js';

export interface ProxyOptions {
  drainTimeoutMs?: number;
  readFile?: (path: string) => Buffer;
  extensions?: ListenerExtensions;
  /** Validates a resource against Envoy's API before it is compiled (schema + PGV rules). */
  validate?: (typeUrl: ResourceType, resource: Json) => { field: string; message: string }[];
  listen?: import('./listener/manager.js').ListenerManagerOptions['listen'];
  poolFactory?: PoolFactory;
  /** Where health checks and outlier ejection run (default: all in this process). */
  health?: HealthOptions;
}

/** One update: for each type either the full set (state of the world) or changes (delta). */
export interface ResourceUpdate {
  type: ResourceType;
  /** Resources added or replaced (delta), or the whole set (sotw). */
  resources: Json[];
  removed?: string[];
  sotw: boolean;
}

export class Proxy implements ClusterManagerView {
  /** Current raw resources by type and name: what /config_dump shows. */
  readonly resources = new Map<ResourceType, Map<string, Json>>(RESOURCE_TYPES.map((t) => [t, new Map()]));
  readonly clusters = new Map<string, Cluster>();
  private readonly assignments = new Map<string, Assignment>();
  private readonly routeProviders = new Map<string, RouteConfigProvider>();
  private readonly secretMap = new Map<string, Secret>();
  readonly secrets = { get: (n: string) => this.secretMap.get(n), version: 0 };
  readonly listeners: ListenerManager;
  private readonly readFile: (p: string) => Buffer;
  private readonly poolFactory: PoolFactory;
  /** Serialises updates: each waits for the previous one to be applied. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Version info of the last applied update per type (for ADS and config dumps). */
  readonly versions = new Map<ResourceType, string>();
  /** When each type was last changed (config dumps). */
  readonly updated = new Map<ResourceType, Date>();

  constructor(readonly options: ProxyOptions = {}) {
    this.readFile = options.readFile ?? ((p) => readFileSync(mountedPath(p)));
    this.poolFactory = options.poolFactory ?? defaultPoolFactory;
    this.listeners = new ListenerManager({ drainTimeoutMs: options.drainTimeoutMs ?? 5000, extensions: options.extensions, listen: options.listen });
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  /** Applies updates in order (e.g. a whole config file); refuses all if any problem. */
  apply(updates: ResourceUpdate[]): Promise<ConfigProblem[]> {
    const run = this.queue.then(() => this.applyNow(updates));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async applyNow(updates: ResourceUpdate[]): Promise<ConfigProblem[]> {
    // 1. The resulting raw state per type, and the types touched.
    const next = new Map<ResourceType, Map<string, Json>>();
    for (const t of RESOURCE_TYPES) next.set(t, new Map(this.resources.get(t)));
    const problems: ConfigProblem[] = [];
    for (const u of updates) {
      const m = next.get(u.type)!;
      if (u.sotw) m.clear();
      for (const r of u.resources) {
        const name = resourceName(u.type, r);
        if (!name) { problems.push({ kind: KIND_OF[u.type], name: '', field: 'name', message: 'a resource needs a name' }); continue; }
        if (this.options.validate) {
          for (const p of this.options.validate(u.type, r)) problems.push({ kind: KIND_OF[u.type], name, field: p.field, message: p.message });
        }
        m.set(name, r);
      }
      for (const n of u.removed ?? []) m.delete(n);
    }
    if (problems.length) return problems;
    const touched = new Set(updates.map((u) => u.type));
    const changed = (t: ResourceType, name: string, r: Json) => touched.has(t) && this.resources.get(t)!.get(name) !== r;

    // 2. Compile what changed; nothing is applied until everything compiled.
    const secrets = new Map<string, Secret>();
    for (const [name, r] of next.get(SECRET)!) {
      if (!changed(SECRET, name, r)) continue;
      const c = compileResource('Secret', name, () => compileSecret(r, this.readFile));
      if (c.problem) problems.push(c.problem); else secrets.set(name, c.value!);
    }
    const clusters = new Map<string, ClusterSettings>();
    for (const [name, r] of next.get(CLUSTER)!) {
      if (!changed(CLUSTER, name, r)) continue;
      const c = compileResource('Cluster', name, () => ownedStats(() => compileCluster(r, this.readFile)));
      if (c.problem) problems.push(c.problem); else clusters.set(name, c.value!);
    }
    const assignments = new Map<string, Assignment>();
    for (const [name, r] of next.get(ENDPOINT)!) {
      if (!changed(ENDPOINT, name, r)) continue;
      const c = compileResource('ClusterLoadAssignment', name, () => compileAssignment(r));
      if (c.problem) problems.push(c.problem); else assignments.set(name, c.value!);
    }
    const routes = new Map<string, ReturnType<typeof compileRouteConfiguration>>();
    for (const [name, r] of next.get(ROUTE)!) {
      if (!changed(ROUTE, name, r)) continue;
      const c = compileResource('RouteConfiguration', name, () => ownedStats(() => compileRouteConfiguration(r, { readFile: this.readFile })));
      if (c.problem) problems.push(c.problem); else routes.set(name, c.value!);
    }
    const listeners = new Map<string, ListenerConfig>();
    const ctx: NetworkFilterContext = {
      readFile: this.readFile,
      routeProvider: (n) => this.routeProvider(n),
      clusters: this,
      secrets: this.secrets,
    };
    for (const [name, r] of next.get(LISTENER)!) {
      const current = this.listeners.config(name);
      if (current && !changed(LISTENER, name, r)) { listeners.set(name, current); continue; }
      const c = compileResource('Listener', name, () => ownedStats(() => compileListener(r, ctx)));
      if (c.problem) problems.push(c.problem); else listeners.set(name, c.value!);
    }
    if (problems.length) return problems;

    // 3. Apply: secrets, clusters and endpoints first (ADS order), then routes, then listeners.
    if (touched.has(SECRET)) {
      for (const name of [...this.secretMap.keys()]) if (!next.get(SECRET)!.has(name)) this.secretMap.delete(name);
      for (const [name, s] of secrets) this.secretMap.set(name, s);
      this.secrets.version++;
    }
    if (touched.has(ENDPOINT)) {
      for (const name of [...this.assignments.keys()]) if (!next.get(ENDPOINT)!.has(name)) this.assignments.delete(name);
      for (const [name, a] of assignments) this.assignments.set(name, a);
    }
    if (touched.has(CLUSTER)) {
      for (const [name, cl] of this.clusters) {
        if (!next.get(CLUSTER)!.has(name)) { this.clusters.delete(name); cl.close(); }
      }
      for (const [name, s] of clusters) {
        const old = this.clusters.get(name);
        if (old && old.settings.source === s.source) continue;
        const cl = new Cluster(s, this.secrets, this.poolFactory);
        attachClusterHealth(cl, this.options.health ?? { role: 'local' });
        if (s.discovery === 'EDS') {
          const a = this.assignments.get(s.edsServiceName);
          if (a) cl.setAssignment(a);
          // Until EDS arrives, keep the old cluster's hosts (a changed cluster should not black-hole).
          else if (old) cl.setAssignment({ priorities: groupByPriority(old) });
        }
        this.clusters.set(name, cl);
        old?.close();
      }
    }
    if (touched.has(ENDPOINT)) {
      for (const cl of this.clusters.values()) {
        if (cl.settings.discovery !== 'EDS') continue;
        const a = assignments.get(cl.settings.edsServiceName);
        if (a) cl.setAssignment(a);
        else if (!next.get(ENDPOINT)!.has(cl.settings.edsServiceName) && this.resources.get(ENDPOINT)!.has(cl.settings.edsServiceName)) cl.setAssignment({ priorities: [] });
      }
    }
    if (touched.has(ROUTE)) {
      for (const [name, p] of this.routeProviders) if (!next.get(ROUTE)!.has(name)) p.table = undefined;
      for (const [name, t] of routes) this.routeProvider(name).table = t;
    }
    let bindProblems: ConfigProblem[] = [];
    if (touched.has(LISTENER)) bindProblems = await this.listeners.apply(listeners);
    const now = new Date();
    for (const t of touched) { this.resources.set(t, next.get(t)!); this.updated.set(t, now); }
    if (bindProblems.length) {
      // Listeners that could not bind are not part of the applied state.
      for (const p of bindProblems) this.resources.get(LISTENER)!.delete(p.name);
    }
    if (touched.has(LISTENER) || touched.has(ROUTE)) this.forgetUnusedRouteProviders();
    return bindProblems;
  }

  /**
   * Drops the providers of route configurations that are gone and that no listener uses, so that
   * route names that come and go do not pile up (a listener that drains keeps its own reference).
   */
  private forgetUnusedRouteProviders(): void {
    const used = new Set(this.routeNames());
    for (const [name, p] of this.routeProviders) if (!p.table && !used.has(name)) this.routeProviders.delete(name);
  }

  routeProvider(name: string): RouteConfigProvider {
    let p = this.routeProviders.get(name);
    if (!p) {
      p = { name, table: undefined };
      const raw = this.resources.get(ROUTE)!.get(name);
      if (raw) {
        const c = compileResource('RouteConfiguration', name, () => ownedStats(() => compileRouteConfiguration(raw, { readFile: this.readFile })));
        if (c.value) p.table = c.value;
      }
      this.routeProviders.set(name, p);
    }
    return p;
  }

  /** Route configuration names the listeners use (what RDS should subscribe to). */
  routeNames(): string[] {
    const names = new Set<string>();
    for (const l of this.listeners.names()) {
      const c = this.listeners.config(l);
      for (const ch of [...(c?.chains ?? []), c?.defaultChain]) {
        for (const f of ch?.filters ?? []) {
          const routes = (f as { config?: { routes?: { name: string; table?: unknown } } }).config?.routes;
          if (routes && this.routeProviders.get(routes.name) === routes) names.add(routes.name);
        }
      }
    }
    return [...names];
  }

  /** The EDS service names of the EDS clusters (what EDS should subscribe to). */
  edsServiceNames(): string[] {
    const names = new Set<string>();
    for (const c of this.clusters.values()) if (c.settings.discovery === 'EDS') names.add(c.settings.edsServiceName);
    return [...names];
  }

  /** The SDS secret names TLS contexts of listeners and clusters reference. */
  secretNames(): string[] {
    const names = new Set<string>();
    const add = (common: { certs: ({ sds: string } | { inline: unknown })[]; validation?: unknown } | undefined) => {
      if (!common) return;
      for (const c of common.certs) if ('sds' in c) names.add(c.sds);
      const v = common.validation as { sds?: string } | undefined;
      if (v?.sds) names.add(v.sds);
    };
    for (const l of this.listeners.names()) {
      const c = this.listeners.config(l);
      for (const ch of [...(c?.chains ?? []), c?.defaultChain]) add(ch?.tls?.config.common);
    }
    // Secrets HTTP filters read (injected credentials), on listeners and as upstream filters.
    const addFilters = (filters: readonly HttpFilter[] | undefined) => {
      if (filters) for (const f of filters) for (const n of (f as { sdsSecretNames?: readonly string[] }).sdsSecretNames ?? []) names.add(n);
    };
    for (const l of this.listeners.names()) {
      const c = this.listeners.config(l);
      for (const ch of [...(c?.chains ?? []), c?.defaultChain]) addFilters((ch?.terminal as { config?: { filters?: HttpFilter[] } } | undefined)?.config?.filters);
    }
    for (const c of this.clusters.values()) {
      addFilters(c.settings.upstreamHttpFilters);
      add(c.settings.transport.tls?.common);
      for (const m of c.settings.transportMatches) add(m.transport.tls?.common);
    }
    // Secrets HTTP filters read per route (OAuth2 client and HMAC secrets).
    for (const p of this.routeProviders.values()) {
      const t = p.table;
      if (!t) continue;
      perFilterSecretNames(t.perFilter, names);
      for (const vh of t.virtualHosts) {
        perFilterSecretNames(vh.perFilter, names);
        for (const r of vh.routes) perFilterSecretNames(r.perFilter, names);
      }
    }
    return [...names];
  }

  async close(drainMs = 0): Promise<void> {
    await this.listeners.close(drainMs);
    for (const c of this.clusters.values()) c.close();
    this.clusters.clear();
  }
}

function groupByPriority(c: Cluster): Assignment['priorities'] {
  const out: Assignment['priorities'] = [];
  for (const h of c.hosts) {
    (out[h.priority] ??= []).push({
      address: h.address, port: h.port, pipe: h.pipe, hostname: h.hostname, weight: h.weight, health: 'UNKNOWN',
      locality: h.locality, socketMatch: h.socketMatch, healthCheckPort: 0,
    });
  }
  for (let i = 0; i < out.length; i++) out[i] ??= [];
  return out;
}
