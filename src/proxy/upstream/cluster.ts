// A live cluster: its hosts (from inline endpoints, EDS or DNS), load balancer, circuit
// breakers and connection pools. Settings are immutable; a changed Cluster resource makes a new
// Cluster object (the old one drains), while EDS and DNS updates change hosts in place.
import type { SecretStore } from '../tls/secrets.js';
import type { ClusterSettings } from './cluster_config.js';
import { resolveDns, type DnsResolution } from './dns.js';
import type { Assignment, EndpointSpec } from './endpoints.js';
import { H1Pool } from './h1_pool.js';
import { HealthFlag, Host } from './host.js';
import { LoadBalancer, type LbContext } from './lb.js';
import { ClusterResources } from './resources.js';
import { clusterStats, type ClusterStats } from '../stats/cluster_stats.js';
import { connectUpstream, transportFor } from './transport.js';
import { encodeProxyHeader } from './proxy_protocol.js';
import type { DownstreamInfo } from '../http/stream_info.js';
import type { ConnPool } from './types.js';

export type { ClusterStats } from '../stats/cluster_stats.js';

/** Hooks for what health checking and outlier detection add to a cluster (see health/, outlier/). */
export interface ClusterObserver {
  hostsChanged?(cluster: Cluster, added: Host[], removed: Host[]): void;
  closed?(cluster: Cluster): void;
}

export type PoolFactory = (cluster: Cluster, host: Host, protocol: 'h1' | 'h2') => ConnPool;

export class Cluster {
  readonly lb: LoadBalancer;
  readonly resources: ClusterResources;
  hosts: Host[] = [];
  /** Hosts by address (host.toString()), built when first asked for after a change. */
  private byAddress: Map<string, Host> | undefined;
  /** False until the first assignment (EDS) or resolution (DNS) arrived. */
  initialized: boolean;
  /** cluster.<name>.* statistics, kept by name across cluster replacements (dropped with the last one). */
  readonly stats: ClusterStats;
  private dns: DnsResolution | undefined;
  private closed = false;
  observers: ClusterObserver[] = [];

  constructor(readonly settings: ClusterSettings, readonly secrets: SecretStore, private readonly poolFactory: PoolFactory) {
    // Upstream HTTP filters read secrets (injected credentials) from the proxy's live store.
    if (settings.upstreamFilterContext) settings.upstreamFilterContext.secrets = secrets;
    this.lb = new LoadBalancer(settings.lb);
    this.stats = clusterStats(settings.name, this);
    this.resources = new ClusterResources(settings.breakers);
    this.initialized = settings.discovery === 'STATIC';
    if (settings.discovery === 'STATIC' && settings.assignment) this.setAssignment(settings.assignment);
    if ((settings.discovery === 'STRICT_DNS' || settings.discovery === 'LOGICAL_DNS') && settings.assignment) {
      this.dns = resolveDns(settings, settings.assignment, (a) => {
        if (this.closed) return;
        this.initialized = true;
        this.setAssignment(a);
      });
    }
  }

  get name(): string {
    return this.settings.name;
  }

  /** New endpoints (EDS, DNS): hosts that stay keep their pools and health state. */
  setAssignment(a: Assignment): void {
    this.initialized = true;
    const old = new Map(this.hosts.map((h) => [h.key, h]));
    const byPriority: Host[][] = [];
    const next: Host[] = [];
    const added: Host[] = [];
    a.priorities.forEach((specs, p) => {
      const level: Host[] = [];
      for (const spec of specs) {
        const key = spec.pipe ? `unix:${spec.pipe}` : `${spec.address}:${spec.port}`;
        let h = old.get(key);
        if (h && !next.includes(h)) {
          old.delete(key);
          h.weight = spec.weight;
          h.priority = p;
          h.locality = spec.locality;
        } else {
          h = new Host(spec.address, spec.port, spec.pipe, spec.weight, p, spec.locality, spec.hostname, spec.socketMatch);
          added.push(h);
        }
        h.healthCheckPort = spec.healthCheckPort;
        applyEdsHealth(h, spec);
        level.push(h);
        next.push(h);
      }
      byPriority.push(level);
    });
    this.hosts = next;
    this.byAddress = undefined;
    this.lb.setHosts(byPriority);
    const removed = [...old.values()];
    for (const h of removed) h.pools?.forEach((p) => p.drain());
    for (const o of this.observers) o.hostsChanged?.(this, added, removed);
  }

  /** Health flags changed on some host (health checks, outlier detection). */
  healthChanged(): void {
    this.lb.refreshHealth();
  }

  chooseHost(ctx: LbContext) {
    return this.lb.choose(ctx);
  }

  /**
   * The host at an address a request asks for (stateful sessions), if it is in the cluster and
   * may take requests (healthy, degraded or not yet checked, as Envoy's default override host
   * statuses allow).
   */
  overrideHost(address: string): Host | undefined {
    let m = this.byAddress;
    if (!m) {
      m = this.byAddress = new Map();
      for (const h of this.hosts) m.set(h.toString(), h);
    }
    const h = m.get(address);
    return h && h.healthy ? h : undefined;
  }

  /**
   * The pool for a host and protocol. With the PROXY protocol transport each downstream
   * connection gets its own pool (its upstream connections carry that client's addresses).
   */
  pool(host: Host, protocol: 'h1' | 'h2', downstream?: DownstreamInfo): ConnPool {
    const pp = transportFor(this.settings, host).proxyProtocol;
    const key = pp && downstream ? `${protocol}|${downstream.remoteAddress}|${downstream.remotePort}|${downstream.localAddress}|${downstream.localPort}` : protocol;
    let p = host.pools?.get(key);
    if (!p) {
      p = pp && downstream && protocol === 'h1'
        ? this.newH1Pool(host, this.settings.preserveHeaderCase, encodeProxyHeader(pp, {
          srcAddress: downstream.remoteAddress, srcPort: downstream.remotePort, dstAddress: downstream.localAddress, dstPort: downstream.localPort,
        }))
        : this.poolFactory(this, host, protocol);
      (host.pools ??= new Map()).set(key, p);
    }
    return p;
  }

  /** An HTTP/1.1 pool with this cluster's transport and limits. */
  newH1Pool(host: Host, preserveHeaderCase: boolean, preamble?: Buffer): H1Pool {
    const s = this.settings;
    const tls = transportFor(s, host).tls !== undefined;
    return new H1Pool({
      connect: (authority) => {
        this.stats.upstream_cx_total++;
        return connectUpstream({ cluster: s, host, secrets: this.secrets, alpn: tls ? ['http/1.1'] : undefined, authority, preamble });
      },
      tls,
      connectTimeoutMs: s.connectTimeoutMs,
      // Pools per downstream connection (PROXY protocol) must not outlive their clients for long.
      idleTimeoutMs: preamble ? Math.min(s.idleTimeoutMs, 5000) : s.idleTimeoutMs,
      maxRequestsPerConnection: s.maxRequestsPerConnection,
      resources: this.resources,
      preserveHeaderCase,
    });
  }

  close(): void {
    this.closed = true;
    this.dns?.stop();
    for (const h of this.hosts) h.pools?.forEach((p) => p.drain());
    for (const o of this.observers) o.closed?.(this);
  }
}

function applyEdsHealth(h: Host, spec: EndpointSpec): void {
  let flags = h.healthFlags & ~(HealthFlag.EdsUnhealthy | HealthFlag.EdsDraining | HealthFlag.Degraded);
  if (spec.health === 'UNHEALTHY' || spec.health === 'TIMEOUT') flags |= HealthFlag.EdsUnhealthy;
  else if (spec.health === 'DRAINING') flags |= HealthFlag.EdsDraining;
  else if (spec.health === 'DEGRADED') flags |= HealthFlag.Degraded;
  h.healthFlags = flags;
}
