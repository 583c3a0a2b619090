// envoy.config.listener.v3.Listener compiled: address, listener filters (TLS inspector, PROXY
// protocol), filter chains with their match criteria, transport sockets and network filters.
import { ConfigError } from '../config/errors.js';
import { anyType, at, bool, durationMs, field, list, numOr, obj, str, type Json } from '../config/json.js';
import { compileDownstreamTls, ServerTls } from '../tls/downstream.js';
import { compileAccessLogs, type AccessLogger } from '../http/access_log.js';
import { compileFilterChainMatch, type FilterChainMatch } from './filter_chain.js';
import { networkFilterFactory, udpListenerFilterFactory, type NetworkFilter, type NetworkFilterContext, type UdpListenerFilter } from './network_filter.js';

export interface FilterChain {
  name: string;
  match: FilterChainMatch;
  tls: ServerTls | undefined;
  filters: NetworkFilter[];
  /** The terminal filter (HCM or another). */
  terminal: NetworkFilter;
}

export interface ListenerConfig {
  name: string;
  /** The JSON it was compiled from, for change detection and config dumps. */
  source: string;
  address: string;
  port: number;
  pipe: string | undefined;
  protocol: 'TCP' | 'UDP';
  chains: FilterChain[];
  defaultChain: FilterChain | undefined;
  tlsInspector: boolean;
  proxyProtocol: { allowRequestsWithoutProxyProtocol: boolean } | undefined;
  listenerFiltersTimeoutMs: number;
  continueOnListenerFiltersTimeout: boolean;
  bufferLimit: number;
  /** The compiled UDP listener filter (udp_proxy) of a UDP listener. */
  udp: UdpListenerFilter | undefined;
  drainType: 'DEFAULT' | 'MODIFY_ONLY';
  /** Listener.stat_prefix: replaces the address in `listener.<address>.*` stats. */
  statPrefix: string;
  /** Listener access logs: one entry per connection when it closes (NR when no filter chain matched). */
  accessLogs: AccessLogger[];
  /** TCP keepalive on accepted connections (socket_options SO_KEEPALIVE / TCP_KEEPIDLE), or undefined. */
  keepalive: { idleMs: number } | undefined;
}

const TLS_INSPECTOR = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';
const PROXY_PROTOCOL = 'envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol';
const DOWNSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext';
const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';

export function compileListener(l: Json, ctx: NetworkFilterContext, path = ''): ListenerConfig {
  const name = str(l, 'name', path);
  if (!name) throw new ConfigError(at(path, 'name'), 'required');
  const addr = obj(l, 'address', path);
  if (!addr) throw new ConfigError(at(path, 'address'), 'required');
  let address = '';
  let port = 0;
  let pipe: string | undefined;
  let protocol: 'TCP' | 'UDP' = 'TCP';
  const sa = obj(addr, 'socketAddress', at(path, 'address'));
  if (sa) {
    const sp = at(path, 'address.socketAddress');
    address = str(sa, 'address', sp);
    port = numOr(sa, 'portValue', sp, 0);
    const proto = field(sa, 'protocol');
    protocol = proto === 'UDP' || proto === 1 ? 'UDP' : 'TCP';
  } else if (obj(addr, 'pipe', at(path, 'address'))) {
    pipe = str(obj(addr, 'pipe', at(path, 'address'))!, 'path', at(path, 'address.pipe'));
  } else throw new ConfigError(at(path, 'address'), 'one of socketAddress or pipe is required');

  let tlsInspector = false;
  let proxyProtocol: ListenerConfig['proxyProtocol'];
  let udp: UdpListenerFilter | undefined;
  list(l, 'listenerFilters', path).forEach((f: Json, i: number) => {
    const fp = at(at(path, 'listenerFilters'), i);
    const tc = obj(f, 'typedConfig', fp);
    const type = tc ? anyType(tc, at(fp, 'typedConfig')) : '';
    if (type === TLS_INSPECTOR) tlsInspector = true;
    else if (type === PROXY_PROTOCOL) {
      const pp = at(fp, 'typedConfig');
      if (list(tc!, 'rules', pp).length) throw new ConfigError(at(pp, 'rules'), 'PROXY protocol TLV rules are not supported');
      proxyProtocol = { allowRequestsWithoutProxyProtocol: bool(tc!, 'allowRequestsWithoutProxyProtocol', pp) };
    } else if (protocol === 'UDP' && udpListenerFilterFactory(type)) {
      if (udp) throw new ConfigError(fp, 'a UDP listener takes one UDP listener filter');
      udp = udpListenerFilterFactory(type)!.create(tc!, at(fp, 'typedConfig'), ctx);
    } else throw new ConfigError(at(fp, 'typedConfig'), `unsupported listener filter ${type || str(f, 'name', fp)}`);
  });
  if (protocol === 'UDP') {
    // A UDP listener with filter chains is a QUIC listener (HTTP/3).
    if (!udp && list(l, 'filterChains', path).length) throw new ConfigError(at(path, 'filterChains'), 'QUIC (HTTP/3) listeners are not supported by this proxy');
    if (!udp) throw new ConfigError(at(path, 'listenerFilters'), 'a UDP listener needs the udp_proxy filter');
  }
  const chains = list(l, 'filterChains', path).map((c: Json, i: number) => compileChain(c, at(at(path, 'filterChains'), i), ctx));
  const dc = obj(l, 'defaultFilterChain', path);
  const defaultChain = dc ? compileChain(dc, at(path, 'defaultFilterChain'), ctx) : undefined;
  if (protocol === 'TCP' && !chains.length && !defaultChain) throw new ConfigError(at(path, 'filterChains'), 'a listener needs at least one filter chain');
  for (const unsupported of ['apiListener', 'internalListener', 'connectionBalanceConfig', 'listenerSpecifier']) {
    if (field(l, unsupported) !== undefined) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  return {
    name,
    source: JSON.stringify(l),
    address,
    port,
    pipe,
    protocol,
    chains,
    defaultChain,
    tlsInspector,
    proxyProtocol,
    listenerFiltersTimeoutMs: durationMs(l, 'listenerFiltersTimeout', path) ?? 15000,
    continueOnListenerFiltersTimeout: bool(l, 'continueOnListenerFiltersTimeout', path),
    bufferLimit: numOr(l, 'perConnectionBufferLimitBytes', path, 1024 * 1024),
    udp,
    drainType: field(l, 'drainType') === 'MODIFY_ONLY' ? 'MODIFY_ONLY' : 'DEFAULT',
    statPrefix: str(l, 'statPrefix', path),
    accessLogs: compileAccessLogs(list(l, 'accessLog', path), at(path, 'accessLog'), ctx),
    keepalive: compileSocketOptions(list(l, 'socketOptions', path), at(path, 'socketOptions')),
  };
}

function compileChain(c: Json, path: string, ctx: NetworkFilterContext): FilterChain {
  const match = compileFilterChainMatch(obj(c, 'filterChainMatch', path), at(path, 'filterChainMatch'));
  let tls: ServerTls | undefined;
  const ts = obj(c, 'transportSocket', path);
  if (ts) {
    const tc = obj(ts, 'typedConfig', at(path, 'transportSocket'));
    const tp = at(path, 'transportSocket.typedConfig');
    const type = tc ? anyType(tc, tp) : '';
    if (type === DOWNSTREAM_TLS) tls = new ServerTls(compileDownstreamTls(tc!, tp, ctx.readFile), ctx.secrets);
    else if (type !== RAW_BUFFER) throw new ConfigError(tp, `unsupported transport socket ${type || str(ts, 'name', at(path, 'transportSocket'))}`);
  }
  const filters: NetworkFilter[] = [];
  const fl = list(c, 'filters', path);
  fl.forEach((f: Json, i: number) => {
    const fp = at(at(path, 'filters'), i);
    const tc = obj(f, 'typedConfig', fp);
    if (!tc) throw new ConfigError(at(fp, 'typedConfig'), `network filter ${str(f, 'name', fp)} has no typed config`);
    const type = anyType(tc, at(fp, 'typedConfig'));
    const factory = networkFilterFactory(type);
    if (!factory) throw new ConfigError(at(fp, 'typedConfig'), `unsupported network filter ${str(f, 'name', fp)} (${type})`);
    const nf = factory.create(tc, at(fp, 'typedConfig'), ctx);
    if (nf.terminal !== (i === fl.length - 1)) {
      throw new ConfigError(fp, nf.terminal ? 'a terminal filter must be the last network filter' : 'the last network filter must be a terminal filter');
    }
    filters.push(nf);
  });
  if (!filters.length) throw new ConfigError(at(path, 'filters'), 'a filter chain needs a terminal network filter');
  return { name: str(c, 'name', path), match, tls, filters, terminal: filters[filters.length - 1]! };
}

/**
 * socket_options: the TCP keepalive options Envoy Gateway sets (SO_KEEPALIVE, TCP_KEEPIDLE,
 * TCP_KEEPINTVL, TCP_KEEPCNT on Linux). Node sets keepalive and its idle time; the probe
 * interval and count stay the system's. Any other option is refused.
 */
function compileSocketOptions(opts: Json[], path: string): ListenerConfig['keepalive'] {
  let enabled = false;
  let idleMs = 0;
  opts.forEach((o, i) => {
    const p = at(path, i);
    const level = numOr(o, 'level', p, 0);
    const name = numOr(o, 'name', p, 0);
    const value = numOr(o, 'intValue', p, 0);
    if (level === 1 && name === 9) enabled = value !== 0;
    else if (level === 6 && name === 4) idleMs = value * 1000;
    else if (level === 6 && (name === 5 || name === 6)) { /* interval and probe count: not settable from Node */ }
    else throw new ConfigError(p, `unsupported socket option (level ${level}, name ${name})`);
  });
  return enabled ? { idleMs } : undefined;
}
