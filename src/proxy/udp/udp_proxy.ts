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
import { anyType, at, bool, durationMs, field, list, numOr, obj, str, type Json } from '../config/json.js';
import { compileAccessLogs, type AccessLogger } from '../http/access_log.js';
import type { DownstreamInfo } from '../http/stream_info.js';
import { ConnectionInfo } from '../listener/connection_info.js';
import { cidr, inCidr, ipBytes, type CidrRange } from '../listener/filter_chain.js';
import type { ListenerConfig } from '../listener/listener_config.js';
import { registerUdpListenerFilter, type NetworkFilterContext, type UdpListenerFilter, type UdpListenerHandle } from '../listener/network_filter.js';
import { compileStringMatcher, type StringMatch } from '../router/string_match.js';
import { counter, gauge, type Counter, type Gauge } from '../stats.js';
import type { ClusterManagerView } from '../upstream/cluster_manager.js';
import { hashString } from '../upstream/hash.js';
import type { Host } from '../upstream/host.js';

const UDP_PROXY = 'envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig';
const UDP_ROUTE = 'envoy.extensions.filters.udp.udp_proxy.v3.Route';
const INPUT = 'envoy.extensions.matching.common_inputs.network.v3.';
const IP_MATCHER = 'envoy.extensions.matching.input_matchers.ip.v3.Ip';
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

/** What a route decision can look at: the datagram's addresses. */
interface DatagramAddresses { remoteAddress: string; remotePort: number; localAddress: string; localPort: number }

type Predicate = (a: DatagramAddresses) => boolean;
/** A compiled matcher: the cluster for a datagram, or undefined (no route). */
type RouteMatcher = (a: DatagramAddresses) => string | undefined;

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
  else if (m) route = compileMatcher(m, at(path, 'matcher'));
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

/** xds.type.matcher.v3.Matcher with UDP routes as actions. */
function compileMatcher(m: Json, path: string): RouteMatcher {
  const onNoMatch = obj(m, 'onNoMatch', path);
  const fallback = onNoMatch ? compileOnMatch(onNoMatch, at(path, 'onNoMatch')) : () => undefined;
  const ml = obj(m, 'matcherList', path);
  if (obj(m, 'matcherTree', path)) throw new ConfigError(at(path, 'matcherTree'), 'matcher trees are not supported');
  if (!ml) return fallback;
  const entries = list(ml, 'matchers', at(path, 'matcherList')).map((fm: Json, i: number) => {
    const fp = at(at(path, 'matcherList.matchers'), i);
    const pred = obj(fm, 'predicate', fp);
    const om = obj(fm, 'onMatch', fp);
    if (!pred) throw new ConfigError(at(fp, 'predicate'), 'required');
    if (!om) throw new ConfigError(at(fp, 'onMatch'), 'required');
    return { pred: compilePredicate(pred, at(fp, 'predicate')), action: compileOnMatch(om, at(fp, 'onMatch')) };
  });
  return (a) => {
    for (const e of entries) if (e.pred(a)) return e.action(a);
    return fallback(a);
  };
}

function compileOnMatch(om: Json, path: string): RouteMatcher {
  const nested = obj(om, 'matcher', path);
  if (nested) return compileMatcher(nested, at(path, 'matcher'));
  const action = obj(om, 'action', path);
  if (!action) throw new ConfigError(path, 'an action or a matcher is required');
  const tc = obj(action, 'typedConfig', at(path, 'action'));
  const tp = at(path, 'action.typedConfig');
  const type = tc ? anyType(tc, tp) : '';
  if (type !== UDP_ROUTE) throw new ConfigError(tp, `unsupported UDP proxy action ${type || str(action, 'name', at(path, 'action'))}`);
  const cluster = str(tc!, 'cluster', tp);
  if (!cluster) throw new ConfigError(at(tp, 'cluster'), 'required');
  return () => cluster;
}

function compilePredicate(p: Json, path: string): Predicate {
  const or = obj(p, 'orMatcher', path);
  if (or) {
    const ps = list(or, 'predicate', at(path, 'orMatcher')).map((x: Json, i: number) => compilePredicate(x, at(at(path, 'orMatcher.predicate'), i)));
    return (a) => ps.some((f) => f(a));
  }
  const and = obj(p, 'andMatcher', path);
  if (and) {
    const ps = list(and, 'predicate', at(path, 'andMatcher')).map((x: Json, i: number) => compilePredicate(x, at(at(path, 'andMatcher.predicate'), i)));
    return (a) => ps.every((f) => f(a));
  }
  const not = obj(p, 'notMatcher', path);
  if (not) { const f = compilePredicate(not, at(path, 'notMatcher')); return (a) => !f(a); }
  const sp = obj(p, 'singlePredicate', path);
  if (!sp) throw new ConfigError(path, 'a predicate needs single_predicate, or_matcher, and_matcher or not_matcher');
  const spp = at(path, 'singlePredicate');
  const input = obj(sp, 'input', spp);
  const itc = input && obj(input, 'typedConfig', at(spp, 'input'));
  const itype = itc ? anyType(itc, at(spp, 'input.typedConfig')) : '';
  let read: (a: DatagramAddresses) => string;
  switch (itype) {
    case `${INPUT}SourceIPInput`: read = (a) => a.remoteAddress; break;
    case `${INPUT}SourcePortInput`: read = (a) => String(a.remotePort); break;
    case `${INPUT}DestinationIPInput`: read = (a) => a.localAddress; break;
    case `${INPUT}DestinationPortInput`: read = (a) => String(a.localPort); break;
    default: throw new ConfigError(at(spp, 'input.typedConfig'), `unsupported UDP matching input ${itype || 'missing'}`);
  }
  const vm = obj(sp, 'valueMatch', spp);
  if (vm) {
    const sm: StringMatch = compileStringMatcher(vm, at(spp, 'valueMatch'));
    return (a) => sm(read(a));
  }
  const cm = obj(sp, 'customMatch', spp);
  const ctc = cm && obj(cm, 'typedConfig', at(spp, 'customMatch'));
  const cp = at(spp, 'customMatch.typedConfig');
  if (!ctc || anyType(ctc, cp) !== IP_MATCHER) throw new ConfigError(cp, 'only value_match and the IP custom matcher are supported');
  const ranges: CidrRange[] = list(ctc, 'cidrRanges', cp).map((r: Json, i: number) => cidr(str(r, 'addressPrefix', at(at(cp, 'cidrRanges'), i)), numOr(r, 'prefixLen', at(at(cp, 'cidrRanges'), i), 0)));
  return (a) => {
    const ip = ipBytes(read(a));
    return ip !== undefined && ranges.some((r) => inCidr(ip, r));
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
