// envoy.filters.udp_listener.udp_proxy: datagrams relayed between clients and a cluster's hosts
// in sessions, as Envoy's UDP proxy does. A session is one client address (ip:port); its
// datagrams go to one host from one upstream socket, and whatever that socket receives goes back
// to the client from the listener's address. The cluster comes from the `matcher` (its
// on_no_match route, or the first matching entry of its matcher_list on the datagram's
// addresses). A session ends after idle_timeout without datagrams either way (60 s by default),
// and moves to another host if its host becomes unhealthy or leaves the cluster.
import dgram from 'node:dgram';
import net from 'node:net';
import { ConfigError } from '../config/errors.js';
import { at, bool, durationMs, field, list, obj, str, type Json } from '../config/json.js';
import { compileAccessLogs, type AccessLogger } from '../http/access_log.js';
import type { DownstreamInfo } from '../http/stream_info.js';
import { ConnectionInfo } from '../listener/connection_info.js';
import { compileNetworkMatcher, type NetworkMatcher } from '../listener/network_matcher.js';
import type { ListenerConfig } from '../listener/listener_config.js';
import { registerUdpListenerFilter, type NetworkFilterContext, type UdpListenerFilter, type UdpListenerHandle } from '../listener/network_filter.js';
import { counter, gauge, type Counter, type Gauge } from '../stats.js';
import type { ClusterManagerView } from '../upstream/cluster_manager.js';
import { hashString } from '../upstream/hash.js';
import type { Host } from '../upstream/host.js';

const UDP_PROXY = 'envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig';
const UDP_ROUTE = 'envoy.extensions.filters.udp.udp_proxy.v3.Route';
const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface UdpProxyStats {
  downstream_sess_total: Counter;
  downstream_sess_active: Gauge;
  downstream_sess_no_route: Counter;
  downstream_sess_rx_bytes: Counter;
  downstream_sess_rx_datagrams: Counter;
  downstream_sess_rx_errors: Counter;
  downstream_sess_tx_bytes: Counter;
  downstream_sess_tx_datagrams: Counter;
  downstream_sess_tx_errors: Counter;
  idle_timeout: Counter;
}

function udpStats(prefix: string): UdpProxyStats {
  const p = `udp.${prefix}.`;
  return {
    downstream_sess_total: counter(`${p}downstream_sess_total`),
    downstream_sess_active: gauge(`${p}downstream_sess_active`),
    downstream_sess_no_route: counter(`${p}downstream_sess_no_route`),
    downstream_sess_rx_bytes: counter(`${p}downstream_sess_rx_bytes`),
    downstream_sess_rx_datagrams: counter(`${p}downstream_sess_rx_datagrams`),
    downstream_sess_rx_errors: counter(`${p}downstream_sess_rx_errors`),
    downstream_sess_tx_bytes: counter(`${p}downstream_sess_tx_bytes`),
    downstream_sess_tx_datagrams: counter(`${p}downstream_sess_tx_datagrams`),
    downstream_sess_tx_errors: counter(`${p}downstream_sess_tx_errors`),
    idle_timeout: counter(`${p}idle_timeout`),
  };
}

/** The route for a datagram (by its addresses): a cluster name, or undefined (no route). */
type RouteMatcher = NetworkMatcher<string>;

export interface UdpProxyConfig {
  statPrefix: string;
  route: RouteMatcher;
  idleTimeoutMs: number;
  hashSourceIp: boolean;
  /** hash_policies key: a fixed hash (all sessions to the same host). */
  hashKey: number | undefined;
  perPacketLoadBalancing: boolean;
  accessLogs: AccessLogger[];
  stats: UdpProxyStats;
}

export function compileUdpProxy(c: Json, path: string, ctx: NetworkFilterContext): UdpProxyConfig {
  const statPrefix = str(c, 'statPrefix', path);
  if (!statPrefix) throw new ConfigError(at(path, 'statPrefix'), 'required');
  let route: RouteMatcher;
  const cluster = str(c, 'cluster', path);
  const m = obj(c, 'matcher', path);
  if (cluster && m) throw new ConfigError(at(path, 'matcher'), 'only one of cluster and matcher may be set');
  if (cluster) route = () => cluster;
  else if (m) {
    route = compileNetworkMatcher(m, at(path, 'matcher'), (type, tc, tp) => {
      if (type !== UDP_ROUTE) throw new ConfigError(tp, `unsupported UDP proxy action ${type}`);
      const name = str(tc, 'cluster', tp);
      if (!name) throw new ConfigError(at(tp, 'cluster'), 'required');
      return name;
    });
  }
  else throw new ConfigError(path, 'one of cluster or matcher is required');
  if (bool(c, 'useOriginalSrcIp', path)) throw new ConfigError(at(path, 'useOriginalSrcIp'), 'not supported by this proxy');
  for (const unsupported of ['sessionFilters', 'tunnelingConfig']) {
    const v = field(c, unsupported);
    if (v !== undefined && v !== null && (!Array.isArray(v) || v.length)) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  let hashSourceIp = false;
  let hashKey: number | undefined;
  list(c, 'hashPolicies', path).forEach((h: Json, i: number) => {
    const hp = at(at(path, 'hashPolicies'), i);
    if (bool(h, 'sourceIp', hp)) hashSourceIp = true;
    else if (typeof field(h, 'key') === 'string') hashKey = hashString(field(h, 'key'));
    else throw new ConfigError(hp, 'a hash policy needs source_ip or key');
  });
  const pal = field(c, 'proxyAccessLog');
  if (Array.isArray(pal) && pal.length) throw new ConfigError(at(path, 'proxyAccessLog'), 'proxy access logs are not supported; use access_log');
  return {
    statPrefix,
    route,
    idleTimeoutMs: durationMs(c, 'idleTimeout', path) ?? DEFAULT_IDLE_TIMEOUT_MS,
    hashSourceIp,
    hashKey,
    perPacketLoadBalancing: bool(c, 'usePerPacketLoadBalancing', path),
    accessLogs: compileAccessLogs(list(c, 'accessLog', path), at(path, 'accessLog'), ctx),
    stats: udpStats(statPrefix),
  };
}

/** One client's session: its upstream socket to one host. */
class Session {
  upstream: dgram.Socket | undefined;
  host: Host | undefined;
  timer: NodeJS.Timeout | undefined;
  readonly info: ConnectionInfo;
  constructor(readonly key: string, readonly address: string, readonly port: number, readonly cluster: string, downstream: DownstreamInfo) {
    this.info = new ConnectionInfo(downstream);
    this.info.clusterName = cluster;
  }
}

/** The running UDP proxy of one listener. */
class UdpProxyListener implements UdpListenerHandle {
  private socket: dgram.Socket | undefined;
  private readonly sessions = new Map<string, Session>();
  private localAddress = '';
  private localPort = 0;

  constructor(private config: UdpProxyConfig, private readonly clusters: ClusterManagerView) {}

  async bind(l: ListenerConfig): Promise<void> {
    const v6 = l.address.includes(':');
    const s = dgram.createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: false });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ address: l.address || (v6 ? '::' : '0.0.0.0'), port: l.port }, () => { s.removeListener('error', reject); resolve(); });
    });
    s.on('error', () => { this.config.stats.downstream_sess_rx_errors.value++; });
    s.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    this.socket = s;
    const a = s.address();
    this.localAddress = normalize(a.address);
    this.localPort = a.port;
  }

  get boundPort(): number {
    return this.localPort;
  }

  update(l: ListenerConfig): void {
    const f = l.udp as UdpProxyFilter | undefined;
    if (f) this.config = f.config;
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const c = this.config;
    c.stats.downstream_sess_rx_datagrams.value++;
    c.stats.downstream_sess_rx_bytes.value += msg.length;
    const remote = normalize(rinfo.address);
    const key = `${remote}:${rinfo.port}`;
    let s = this.sessions.get(key);
    if (!s) {
      const addrs = { remoteAddress: remote, remotePort: rinfo.port, localAddress: this.localAddress, localPort: this.localPort };
      const name = c.route(addrs);
      if (!name) { c.stats.downstream_sess_no_route.value++; return; }
      s = new Session(key, rinfo.address, rinfo.port, name, { ...addrs, serverName: '', tls: false });
      this.sessions.set(key, s);
      c.stats.downstream_sess_total.value++;
      c.stats.downstream_sess_active.value++;
      if (c.idleTimeoutMs > 0) s.timer = setTimeout(onSessionIdle, c.idleTimeoutMs, this, s);
    } else s.timer?.refresh();
    s.info.bytesReceived += msg.length;
    this.forward(s, msg);
  }

  /** Sends a client datagram upstream, choosing (or re-choosing) the session's host. */
  private forward(s: Session, msg: Buffer): void {
    const cluster = this.clusters.get(s.cluster);
    if (!cluster) { this.config.stats.downstream_sess_no_route.value++; return; }
    const stats = cluster.stats;
    let host = s.host;
    const stale = !host || this.config.perPacketLoadBalancing || !host.healthy || !cluster.hosts.includes(host);
    if (stale) {
      const c = this.config;
      const chosen = cluster.chooseHost({ hash: c.hashKey ?? (c.hashSourceIp ? hashString(s.info.downstream.remoteAddress) : undefined), avoid: undefined, maxAttempts: 1 });
      if (!chosen) { stats.upstream_cx_none_healthy++; s.info.responseFlags = 'UH'; return; }
      if (chosen !== host || !s.upstream) {
        const res = cluster.resources;
        if (!s.upstream && res.connections >= res.breakers.maxConnections) { stats.upstream_cx_overflow++; s.info.responseFlags = 'UO'; return; }
        this.closeUpstream(s, cluster.resources);
        host = chosen;
        s.host = host;
        s.info.upstreamHost = host.toString();
        s.upstream = this.openUpstream(s, host);
        res.connections++;
        stats.upstream_cx_total++;
      }
    }
    s.upstream!.send(msg, host!.port, host!.address, (err) => {
      if (err) stats.udp_sess_tx_errors++;
    });
    stats.udp_sess_tx_datagrams++;
  }

  private openUpstream(s: Session, host: Host): dgram.Socket {
    // Not connect()ed: a connected socket refuses sends until the connect completes. Replies from
    // anyone but the host are dropped, as a connected socket would.
    const u = dgram.createSocket(net.isIPv6(host.address) ? 'udp6' : 'udp4');
    const hostAddress = host.address;
    const hostPort = host.port;
    u.on('error', () => {
      const cl = this.clusters.get(s.cluster);
      if (cl) cl.stats.udp_sess_rx_errors++;
    });
    u.on('message', (reply, from) => {
      if (s.upstream !== u || from.port !== hostPort || normalize(from.address) !== hostAddress) return;
      const cl = this.clusters.get(s.cluster);
      if (cl) cl.stats.udp_sess_rx_datagrams++;
      s.timer?.refresh();
      s.info.bytesSent += reply.length;
      const c = this.config;
      this.socket?.send(reply, s.port, s.address, (err) => {
        if (err) c.stats.downstream_sess_tx_errors.value++;
      });
      c.stats.downstream_sess_tx_datagrams.value++;
      c.stats.downstream_sess_tx_bytes.value += reply.length;
    });
    return u;
  }

  private closeUpstream(s: Session, res: { connections: number }): void {
    if (!s.upstream) return;
    s.upstream.close();
    s.upstream = undefined;
    res.connections--;
  }

  endSession(s: Session, idle: boolean): void {
    if (this.sessions.get(s.key) !== s) return;
    this.sessions.delete(s.key);
    if (s.timer) clearTimeout(s.timer);
    const c = this.config;
    if (idle) c.stats.idle_timeout.value++;
    c.stats.downstream_sess_active.value--;
    const cluster = this.clusters.get(s.cluster);
    if (s.upstream) {
      if (cluster) this.closeUpstream(s, cluster.resources);
      else { s.upstream.close(); s.upstream = undefined; }
    }
    for (const l of c.accessLogs) l.log(s.info);
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions.values()]) this.endSession(s, false);
    const sock = this.socket;
    this.socket = undefined;
    if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
  }
}

function onSessionIdle(l: UdpProxyListener, s: Session): void { l.endSession(s, true); }

function normalize(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/** The compiled listener filter: binds the listener's socket when the listener starts. */
export class UdpProxyFilter implements UdpListenerFilter {
  constructor(readonly config: UdpProxyConfig, private readonly clusters: ClusterManagerView) {}

  async start(l: ListenerConfig): Promise<UdpListenerHandle> {
    const p = new UdpProxyListener(this.config, this.clusters);
    await p.bind(l);
    return p;
  }
}

registerUdpListenerFilter({
  configType: UDP_PROXY,
  create(config: Json, path: string, ctx: NetworkFilterContext) {
    return new UdpProxyFilter(compileUdpProxy(config, path, ctx), ctx.clusters);
  },
});
