// envoy.filters.network.tcp_proxy: a connection's bytes relayed to a host of one cluster (or of
// one of weighted clusters) in both directions, as Envoy's TcpProxy does it: the host comes from
// the cluster's load balancer, a failed connect is retried up to max_connect_attempts, reads stop
// while the other side cannot take more than the per-connection buffer limit, half-closes are
// passed on, an idle connection (no bytes either way for idle_timeout) is closed, and an access
// log line is written when the connection ends.
import type net from 'node:net';
import { ConfigError } from '../config/errors.js';
import { at, durationMs, field, list, numOr, obj, str, type Json } from '../config/json.js';
import { compileAccessLogs, type AccessLogger } from '../http/access_log.js';
import type { DownstreamInfo } from '../http/stream_info.js';
import { ConnectionInfo } from '../listener/connection_info.js';
import { registerNetworkFilter, type AcceptedConnection, type NetworkFilter, type NetworkFilterContext } from '../listener/network_filter.js';
import { counter, gauge, type Counter, type Gauge } from '../stats.js';
import type { Cluster } from '../upstream/cluster.js';
import { hashString } from '../upstream/hash.js';
import type { Host } from '../upstream/host.js';
import { connectUpstream, transportFor } from '../upstream/transport.js';
import { encodeProxyHeader } from '../upstream/proxy_protocol.js';
import type { ClusterManagerView } from '../upstream/cluster_manager.js';

const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
/** Envoy's default idle timeout for tcp_proxy when the field is absent. */
const DEFAULT_IDLE_TIMEOUT_MS = 3600_000;

export interface TcpProxyStats {
  downstream_cx_total: Counter;
  downstream_cx_no_route: Counter;
  downstream_cx_rx_bytes_total: Counter;
  downstream_cx_tx_bytes_total: Counter;
  downstream_flow_control_paused_reading_total: Counter;
  downstream_flow_control_resumed_reading_total: Counter;
  idle_timeout: Counter;
  max_downstream_connection_duration: Counter;
  upstream_flush_total: Counter;
  downstream_cx_rx_bytes_buffered: Gauge;
  downstream_cx_tx_bytes_buffered: Gauge;
  upstream_flush_active: Gauge;
}

function tcpStats(prefix: string): TcpProxyStats {
  const p = `tcp.${prefix}.`;
  return {
    downstream_cx_total: counter(`${p}downstream_cx_total`),
    downstream_cx_no_route: counter(`${p}downstream_cx_no_route`),
    downstream_cx_rx_bytes_total: counter(`${p}downstream_cx_rx_bytes_total`),
    downstream_cx_tx_bytes_total: counter(`${p}downstream_cx_tx_bytes_total`),
    downstream_flow_control_paused_reading_total: counter(`${p}downstream_flow_control_paused_reading_total`),
    downstream_flow_control_resumed_reading_total: counter(`${p}downstream_flow_control_resumed_reading_total`),
    idle_timeout: counter(`${p}idle_timeout`),
    max_downstream_connection_duration: counter(`${p}max_downstream_connection_duration`),
    upstream_flush_total: counter(`${p}upstream_flush_total`),
    downstream_cx_rx_bytes_buffered: gauge(`${p}downstream_cx_rx_bytes_buffered`),
    downstream_cx_tx_bytes_buffered: gauge(`${p}downstream_cx_tx_bytes_buffered`),
    upstream_flush_active: gauge(`${p}upstream_flush_active`),
  };
}

export interface WeightedCluster { name: string; weight: number; upTo: number }

export interface TcpProxyConfig {
  statPrefix: string;
  /** The single cluster, or undefined with weighted clusters. */
  cluster: string | undefined;
  weighted: WeightedCluster[] | undefined;
  totalWeight: number;
  /** 0 disables. */
  idleTimeoutMs: number;
  maxConnectAttempts: number;
  maxDownstreamConnectionDurationMs: number;
  /** hash_policy source_ip: consistent hashing on the client's address. */
  hashSourceIp: boolean;
  accessLogs: AccessLogger[];
  stats: TcpProxyStats;
}

export function compileTcpProxy(c: Json, path: string, ctx: NetworkFilterContext): TcpProxyConfig {
  const statPrefix = str(c, 'statPrefix', path);
  if (!statPrefix) throw new ConfigError(at(path, 'statPrefix'), 'required');
  const cluster = str(c, 'cluster', path) || undefined;
  let weighted: WeightedCluster[] | undefined;
  let totalWeight = 0;
  const wc = obj(c, 'weightedClusters', path);
  if (wc) {
    if (cluster) throw new ConfigError(at(path, 'weightedClusters'), 'only one of cluster and weighted_clusters may be set');
    weighted = list(wc, 'clusters', at(path, 'weightedClusters')).map((w: Json, i: number) => {
      const wp = at(at(path, 'weightedClusters.clusters'), i);
      const name = str(w, 'name', wp);
      if (!name) throw new ConfigError(at(wp, 'name'), 'required');
      if (obj(w, 'metadataMatch', wp)) throw new ConfigError(at(wp, 'metadataMatch'), 'subset load balancing is not supported');
      const weight = numOr(w, 'weight', wp, 0);
      if (weight < 1) throw new ConfigError(at(wp, 'weight'), 'must be at least 1');
      totalWeight += weight;
      return { name, weight, upTo: totalWeight };
    });
    if (!weighted!.length) throw new ConfigError(at(path, 'weightedClusters.clusters'), 'at least one cluster is required');
  }
  if (!cluster && !weighted) throw new ConfigError(path, 'one of cluster or weighted_clusters is required');
  let hashSourceIp = false;
  list(c, 'hashPolicy', path).forEach((h: Json, i: number) => {
    const hp = at(at(path, 'hashPolicy'), i);
    if (obj(h, 'sourceIp', hp)) hashSourceIp = true;
    else throw new ConfigError(hp, 'only source_ip hash policies are supported');
  });
  for (const unsupported of ['onDemand', 'tunnelingConfig', 'metadataMatch', 'proxyProtocolTlvs']) {
    const v = field(c, unsupported);
    if (v !== undefined && v !== null && (!Array.isArray(v) || v.length)) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  const idle = durationMs(c, 'idleTimeout', path);
  return {
    statPrefix,
    cluster,
    weighted,
    totalWeight,
    idleTimeoutMs: idle ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxConnectAttempts: Math.max(1, numOr(c, 'maxConnectAttempts', path, 1)),
    maxDownstreamConnectionDurationMs: durationMs(c, 'maxDownstreamConnectionDuration', path) ?? 0,
    hashSourceIp,
    accessLogs: compileAccessLogs(list(c, 'accessLog', path), at(path, 'accessLog'), ctx),
    stats: tcpStats(statPrefix),
  };
}

/** One proxied connection. */
class TcpSession {
  private upstream: net.Socket | undefined;
  private host: Host | undefined;
  private cluster: Cluster | undefined;
  private connected = false;
  /** Downstream bytes that arrived before the upstream connected. */
  private early: Buffer[] = [];
  private earlySize = 0;
  private attempts = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private durationTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private downstreamEnded = false;
  private upstreamEnded = false;
  private counted = false;
  private readonly info: ConnectionInfo;

  constructor(
    private readonly config: TcpProxyConfig,
    private readonly clusters: ClusterManagerView,
    private readonly down: net.Socket,
    private readonly bufferLimit: number,
    downstream: DownstreamInfo,
  ) {
    this.info = new ConnectionInfo(downstream);
  }

  start(): void {
    const { config, down } = this;
    config.stats.downstream_cx_total.value++;
    // A client's FIN is passed on to the upstream; the connection closes once both sides did.
    down.allowHalfOpen = true;
    down.on('data', this.onDownstreamData);
    down.on('end', this.onDownstreamEnd);
    down.on('drain', this.onDownstreamDrain);
    down.on('close', this.onDownstreamClose);
    down.on('error', () => {});
    if (config.idleTimeoutMs > 0) this.idleTimer = setTimeout(onIdle, config.idleTimeoutMs, this);
    if (config.maxDownstreamConnectionDurationMs > 0) this.durationTimer = setTimeout(onMaxDuration, config.maxDownstreamConnectionDurationMs, this);
    const name = this.pickCluster();
    this.info.clusterName = name;
    const cluster = this.clusters.get(name);
    if (!cluster) {
      config.stats.downstream_cx_no_route.value++;
      this.fail('NC');
      return;
    }
    this.cluster = cluster;
    this.connect();
  }

  private pickCluster(): string {
    const c = this.config;
    if (c.cluster) return c.cluster;
    const r = Math.floor(Math.random() * c.totalWeight);
    for (const w of c.weighted!) if (r < w.upTo) return w.name;
    return c.weighted![c.weighted!.length - 1]!.name;
  }

  private connect(): void {
    const cluster = this.cluster!;
    const stats = cluster.stats;
    const host = cluster.chooseHost({
      hash: this.config.hashSourceIp ? hashString(this.info.downstream.remoteAddress) : undefined,
      avoid: this.host ? [this.host] : undefined,
      maxAttempts: 2,
    });
    if (!host) {
      stats.upstream_cx_none_healthy++;
      this.fail('UH');
      return;
    }
    const res = cluster.resources;
    if (res.connections >= res.breakers.maxConnections) {
      stats.upstream_cx_overflow++;
      this.fail('UO');
      return;
    }
    this.attempts++;
    this.host = host;
    this.info.upstreamHost = host.toString();
    res.connections++;
    stats.upstream_cx_total++;
    host.activeRequests++;
    let up: net.Socket;
    const transport = transportFor(cluster.settings, host);
    const d = this.info.downstream;
    // An upstream PROXY protocol transport tells the backend who the client is.
    const preamble = transport.proxyProtocol
      ? encodeProxyHeader(transport.proxyProtocol, { srcAddress: d.remoteAddress, srcPort: d.remotePort, dstAddress: d.localAddress, dstPort: d.localPort })
      : undefined;
    try {
      up = connectUpstream({ cluster: cluster.settings, host, secrets: cluster.secrets, alpn: undefined, authority: d.serverName || undefined, preamble });
    } catch {
      res.connections--;
      host.activeRequests--;
      this.onConnectFailed(false);
      return;
    }
    this.upstream = up;
    up.allowHalfOpen = true;
    const tls = transport.tls !== undefined;
    const timer = setTimeout(() => { if (!this.connected && this.upstream === up) { stats.upstream_cx_connect_timeout++; up.destroy(); } }, cluster.settings.connectTimeoutMs);
    up.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      if (this.upstream !== up) return;
      this.onConnected();
    });
    up.on('error', () => {});
    up.on('close', () => {
      clearTimeout(timer);
      res.connections--;
      host.activeRequests--;
      if (this.upstream !== up) return;
      if (!this.connected) this.onConnectFailed(true);
      else this.onUpstreamClose();
    });
  }

  private onConnectFailed(counted: boolean): void {
    const cluster = this.cluster!;
    if (counted) cluster.stats.upstream_cx_connect_fail++;
    this.host?.outlier?.putResult('connect-failed');
    this.upstream = undefined;
    if (this.closed) return;
    if (this.attempts < this.config.maxConnectAttempts) { this.connect(); return; }
    this.fail('UF');
  }

  private onConnected(): void {
    const up = this.upstream!;
    this.connected = true;
    this.host!.outlier?.putResult('connect-success-final');
    up.on('data', this.onUpstreamData);
    up.on('end', this.onUpstreamEnd);
    up.on('drain', this.onUpstreamDrain);
    if (this.closed) { up.destroy(); return; }
    for (const b of this.early) up.write(b);
    this.early = [];
    if (this.earlySize > this.bufferLimit) this.resumeDownstream();
    this.earlySize = 0;
    if (this.downstreamEnded) up.end();
  }

  private readonly onDownstreamData = (d: Buffer): void => {
    this.config.stats.downstream_cx_rx_bytes_total.value += d.length;
    this.info.bytesReceived += d.length;
    this.idleTimer?.refresh();
    const up = this.upstream;
    if (!this.connected || !up) {
      this.early.push(d);
      this.earlySize += d.length;
      if (this.earlySize > this.bufferLimit) this.pauseDownstream();
      return;
    }
    this.cluster!.stats.upstream_cx_tx_bytes_total += d.length;
    if (!up.write(d)) this.pauseDownstream();
  };

  private readonly onUpstreamData = (d: Buffer): void => {
    this.config.stats.downstream_cx_tx_bytes_total.value += d.length;
    this.cluster!.stats.upstream_cx_rx_bytes_total += d.length;
    this.info.bytesSent += d.length;
    this.idleTimer?.refresh();
    if (!this.down.write(d)) this.upstream!.pause();
  };

  private pauseDownstream(): void {
    if (this.down.isPaused()) return;
    this.config.stats.downstream_flow_control_paused_reading_total.value++;
    this.down.pause();
  }

  private resumeDownstream(): void {
    if (!this.down.isPaused()) return;
    this.config.stats.downstream_flow_control_resumed_reading_total.value++;
    this.down.resume();
  }

  private readonly onUpstreamDrain = (): void => { this.resumeDownstream(); };
  private readonly onDownstreamDrain = (): void => { this.upstream?.resume(); };

  private readonly onDownstreamEnd = (): void => {
    this.downstreamEnded = true;
    if (this.connected) this.upstream?.end();
    if (this.upstreamEnded) this.close();
  };

  private readonly onUpstreamEnd = (): void => {
    this.upstreamEnded = true;
    this.down.end();
    if (this.downstreamEnded) this.close();
  };

  private onUpstreamClose(): void {
    // Whatever is still queued for the client is flushed before the connection closes.
    if (this.down.writableLength > 0) {
      this.config.stats.upstream_flush_total.value++;
      this.config.stats.upstream_flush_active.value++;
      this.down.end(() => { this.config.stats.upstream_flush_active.value--; });
      this.close(false);
      return;
    }
    this.close();
  }

  private readonly onDownstreamClose = (): void => { this.close(); };

  onIdleTimeout(): void {
    this.config.stats.idle_timeout.value++;
    this.close();
  }

  onMaxDuration(): void {
    this.config.stats.max_downstream_connection_duration.value++;
    this.close();
  }

  private fail(flag: string): void {
    this.info.responseFlags = flag;
    this.close();
  }

  /** Closes both sides (the downstream after flushing when `destroyDownstream` is false). */
  close(destroyDownstream = true): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.durationTimer) clearTimeout(this.durationTimer);
    this.upstream?.destroy();
    if (destroyDownstream) this.down.destroy();
    if (!this.counted) {
      this.counted = true;
      for (const l of this.config.accessLogs) l.log(this.info);
    }
  }
}

function onIdle(s: TcpSession): void { s.onIdleTimeout(); }
function onMaxDuration(s: TcpSession): void { s.onMaxDuration(); }

export class TcpProxyFilter implements NetworkFilter {
  readonly terminal = true;
  private readonly sessions = new Set<TcpSession>();

  constructor(readonly config: TcpProxyConfig, private readonly ctx: NetworkFilterContext) {}

  handle(c: AcceptedConnection): void {
    const s = new TcpSession(this.config, this.ctx.clusters, c.socket, c.bufferLimit, c.info);
    this.sessions.add(s);
    c.socket.once('close', () => this.sessions.delete(s));
    s.start();
  }

  /** Draining a TCP proxy leaves established connections alone until the drain time ends, as Envoy does. */
  drain(): void {}
}

registerNetworkFilter({
  configType: TCP_PROXY,
  create(config: Json, path: string, ctx: NetworkFilterContext) {
    return new TcpProxyFilter(compileTcpProxy(config, path, ctx), ctx);
  },
});
