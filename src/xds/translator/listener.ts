// Envoy listeners: one per address and port. HTTP listeners without TLS share the default filter
// chain (their virtual hosts are merged into the first one's route configuration); TLS listeners
// and TLS routes get one filter chain each, selected by SNI; TCP routes get a TCP proxy chain;
// UDP listeners carry a UDP proxy listener filter.
import type { AccessLog, ClientConnection, IPFamily, TCPKeepalive } from '../../ir/xds.js';
import { buildAccessLogs } from './accesslog.js';
import { protoDuration, typed, type Msg } from './util.js';

const defaultBufferLimit = 32768;

/** The TCP keepalive socket options (SOL_SOCKET/SO_KEEPALIVE, IPPROTO_TCP/TCP_KEEP*). */
export function keepaliveSocketOptions(k: TCPKeepalive | undefined): Msg[] | undefined {
  if (!k) return undefined;
  const opts: Msg[] = [{ description: 'socket option to enable tcp keep alive', level: '1', name: '9', intValue: '1' }];
  if (k.probes !== undefined) opts.push({ description: 'socket option for keep alive probes', level: '6', name: '6', intValue: String(k.probes) });
  if (k.idleTime !== undefined) opts.push({ description: 'socket option for keep alive idle time', level: '6', name: '4', intValue: String(k.idleTime) });
  if (k.interval !== undefined) opts.push({ description: 'socket option for keep alive interval', level: '6', name: '5', intValue: String(k.interval) });
  return opts;
}

export interface TCPListenerArgs {
  name: string;
  address: string;
  port: number;
  ipFamily?: IPFamily;
  keepalive?: TCPKeepalive;
  connection?: ClientConnection;
  accessLog?: AccessLog;
}

function socketAddress(address: string, port: number, ipFamily: IPFamily | undefined, protocol?: 'UDP'): Msg {
  const sa: Msg = {};
  if (protocol) sa.protocol = protocol;
  sa.address = address;
  sa.portValue = port;
  // A dual-stack listener on the IPv4 wildcard also accepts IPv6 (via IPv4-mapped addresses).
  if (ipFamily === 'DualStack' || (ipFamily === undefined && address === '::')) {
    if (ipFamily === 'DualStack') sa.ipv4Compat = true;
  }
  return { socketAddress: sa };
}

/** A new listener for TCP traffic (HTTP/1.1, HTTP/2, TLS, TCP). */
export function buildTCPListener(a: TCPListenerArgs): Msg {
  const l: Msg = { name: a.name };
  const logs = buildAccessLogs(a.accessLog, 'listener');
  if (logs) l.accessLog = logs;
  const so = keepaliveSocketOptions(a.keepalive);
  if (so) l.socketOptions = so;
  l.perConnectionBufferLimitBytes = a.connection?.bufferLimit ?? defaultBufferLimit;
  l.address = socketAddress(a.address, a.port, a.ipFamily);
  const accept = a.connection?.maxAcceptPerSocketEvent;
  if (accept !== 0) l.maxConnectionsToAcceptPerSocketEvent = accept ?? 1;
  return l;
}

/** A new UDP listener for HTTP/3 (QUIC) next to an HTTP listener. */
export function buildQUICListener(a: TCPListenerArgs): Msg {
  const l: Msg = { name: a.name };
  const logs = buildAccessLogs(a.accessLog, 'listener');
  if (logs) l.accessLog = logs;
  l.address = socketAddress(a.address, a.port, a.ipFamily, 'UDP');
  l.udpListenerConfig = { downstreamSocketConfig: {}, quicOptions: {} };
  // QUIC connections cannot be drained gracefully on a listener update: only on removal.
  l.drainType = 'MODIFY_ONLY';
  return l;
}

/** Adds the TLS inspector (once) so that filter chains can match on SNI. */
export function addTLSInspector(l: Msg, fingerprints?: string[]): void {
  const filters: Msg[] = (l.listenerFilters ??= []);
  let f = filters.find((x) => x.name === 'envoy.filters.listener.tls_inspector');
  if (!f) {
    f = { name: 'envoy.filters.listener.tls_inspector', typedConfig: typed('envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector') };
    filters.push(f);
  }
  for (const fp of fingerprints ?? []) {
    if (fp === 'JA3') f.typedConfig.enableJa3Fingerprinting = true;
    if (fp === 'JA4') f.typedConfig.enableJa4Fingerprinting = true;
  }
}

/** Adds the PROXY protocol listener filter (first, before TLS inspection). */
export function addProxyProtocol(l: Msg, optional: boolean | undefined): void {
  const filters: Msg[] = (l.listenerFilters ??= []);
  if (filters.some((x) => x.name === 'envoy.filters.listener.proxy_protocol')) return;
  const cfg: Msg = {};
  if (optional) cfg.allowRequestsWithoutProxyProtocol = true;
  filters.unshift({
    name: 'envoy.filters.listener.proxy_protocol',
    typedConfig: typed('envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol', cfg),
  });
}

/** Sets the SNI match of a filter chain (and the inspector it needs), unless it matches everything. */
export function addServerNamesMatch(l: Msg, chain: Msg, hostnames: string[] | undefined, fingerprints?: string[]): void {
  if (hostnames?.length && hostnames[0] !== '*') {
    chain.filterChainMatch = { serverNames: [...hostnames] };
    addTLSInspector(l, fingerprints);
  } else if (fingerprints?.length) {
    addTLSInspector(l, fingerprints);
  }
}

/** The connection limit network filter placed before the connection manager / TCP proxy. */
export function connectionLimitFilter(statPrefix: string, c: ClientConnection | undefined): Msg | undefined {
  const limit = c?.limit;
  if (!limit || limit.value === undefined) return undefined;
  const cfg: Msg = { statPrefix, maxConnections: String(limit.value) };
  if (limit.closeDelay) cfg.delay = protoDuration(limit.closeDelay);
  return {
    name: 'envoy.filters.network.connection_limit',
    typedConfig: typed('envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit', cfg),
  };
}

/** Finds a listener on the same address, port and protocol. */
export function findListener(listeners: Msg[], address: string, port: number, udp = false): Msg | undefined {
  return listeners.find((l) => {
    const sa = l.address?.socketAddress;
    return sa && sa.address === address && sa.portValue === port && (sa.protocol === 'UDP') === udp;
  });
}
