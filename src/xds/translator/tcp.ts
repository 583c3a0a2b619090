// TCP listeners: a TCP proxy filter chain per route, matched by SNI for TLS passthrough, with a
// TLS transport socket for termination; an empty chain to a placeholder cluster when a listener
// has no routes yet (Envoy rejects listeners without filter chains).
import { buildRBACMatcher } from './authorization.js';
import type { TCPListener, TCPRoute, Xds } from '../../ir/xds.js';
import { buildAccessLogs } from './accesslog.js';
import { endpointTypeOf } from './cluster.js';
import type { Context } from './context.js';
import { ipFamilyOf } from './http.js';
import { addProxyProtocol, addServerNamesMatch, buildTCPListener, connectionLimitFilter, findListener } from './listener.js';
import { buildHashPolicies } from './route-policy.js';
import { buildCASecret, buildCertificateSecret, buildDownstreamTLSSocket } from './tls.js';
import { protoDuration, typed, type Msg } from './util.js';

/** The cluster of listeners that have no route yet: static and empty. */
export const emptyClusterName = 'EmptyCluster';

export function processTCPListeners(ctx: Context, ir: Xds): void {
  const t = ctx.table;
  for (const l of ir.tcp ?? []) {
    let xl = findListener(t.out.listeners, l.address, l.port);
    if (!xl) {
      xl = buildTCPListener({
        name: ctx.names.listener(l, 'tcp'), address: l.address, port: l.port, ipFamily: l.ipFamily, keepalive: l.tcpKeepalive,
        connection: l.connection, accessLog: ir.accessLog,
      });
      t.add('listeners', xl);
    }
    if (l.proxyProtocol) addProxyProtocol(xl, l.proxyProtocol.optional);
    for (const r of l.routes ?? []) {
      const dest = r.destination;
      if (dest && (dest.settings?.length || !dest.backendClusterRefs?.length)) {
        ctx.addCluster({
          name: dest.name,
          settings: dest.settings ?? [],
          endpointType: endpointTypeOf(dest.settings),
          ipFamily: ipFamilyOf(dest.settings ?? []),
          traffic: {
            loadBalancer: r.loadBalancer, proxyProtocol: r.proxyProtocol, healthCheck: r.healthCheck,
            circuitBreaker: r.circuitBreaker, tcpKeepalive: r.tcpKeepalive, timeout: r.timeout,
            backendConnection: r.backendConnection, dns: r.dns,
          },
          metadata: dest.metadata,
          perEndpointStats: ir.metrics?.enablePerEndpointStats,
          requestResponseSizes: ir.metrics?.enableRequestResponseSizesStats,
          noHTTPOptions: true,
        });
      }
      const term = r.tls?.terminate;
      if (term) {
        for (const c of term.clientCertificates ?? []) t.append('secrets', buildCertificateSecret(c));
        for (const c of term.certificates ?? []) {
          if (c.sds) ctx.sdsServers.add(c.sds.address);
          else t.append('secrets', buildCertificateSecret(c));
        }
        if (term.caCertificate) t.append('secrets', buildCASecret(term.caCertificate, term.crl));
      }
      addTCPFilterChain(xl, l, r, clusterOf(r), ir);
    }
    if (!l.routes?.length) {
      if (!t.has('clusters', emptyClusterName)) t.add('clusters', { name: emptyClusterName, type: 'STATIC' });
      const empty: TCPRoute = { name: emptyClusterName, destination: { name: emptyClusterName } };
      const exists = (xl.filterChains ?? []).some((c: Msg) => c.name === emptyClusterName && !c.filterChainMatch);
      if (!exists) addTCPFilterChain(xl, l, empty, emptyClusterName, ir);
    }
  }
}

/** The cluster a TCP route proxies to: its destination, or the one shared backend cluster it refers to. */
function clusterOf(r: TCPRoute): string | Msg {
  const dest = r.destination!;
  const refs = dest.backendClusterRefs ?? [];
  if (!dest.settings?.length && refs.length === 1) return refs[0]!.name;
  if (refs.length && (refs.length > 1 || dest.settings?.length)) {
    const clusters: Msg[] = [];
    if (dest.settings?.length) clusters.push({ name: dest.name, weight: 1 });
    for (const ref of refs) clusters.push({ name: ref.name, weight: ref.weight ?? 1 });
    return { clusters };
  }
  return dest.name;
}

function addTCPFilterChain(xl: Msg, l: TCPListener, r: TCPRoute, cluster: string | Msg, ir: Xds): void {
  const passthrough = !!r.tls?.inspector?.snis?.length || (!!r.tls?.inspector && !r.tls.terminate);
  const terminate = !!r.tls?.terminate;
  const kind = terminate ? 'tls-terminate' : passthrough ? 'tls-passthrough' : 'tcp';
  const statPrefix = `${kind}-${l.port}`;
  const proxy: Msg = {};
  const logs = buildAccessLogs(ir.accessLog, 'tcp');
  if (logs) proxy.accessLog = logs;
  proxy.statPrefix = statPrefix;
  if (typeof cluster === 'string') proxy.cluster = cluster;
  else proxy.weightedClusters = cluster;
  const hash = buildHashPolicies(r.loadBalancer);
  if (hash) proxy.hashPolicy = hash.filter((h) => h.connectionProperties).map(() => ({ sourceIp: {} }));
  if (proxy.hashPolicy && !proxy.hashPolicy.length) delete proxy.hashPolicy;
  if (l.timeout?.tcp?.idleTimeout) proxy.idleTimeout = protoDuration(l.timeout.tcp.idleTimeout);
  const filters: Msg[] = [];
  const cl = connectionLimitFilter(statPrefix, l.connection);
  if (cl) filters.push(cl);
  if (r.authorization) {
    // Connections are authorized (by client address) before they are proxied.
    filters.push({
      name: 'envoy.filters.network.rbac',
      typedConfig: typed('envoy.extensions.filters.network.rbac.v3.RBAC', { matcher: buildRBACMatcher(r.authorization), statPrefix }),
    });
  }
  filters.push({ name: 'envoy.filters.network.tcp_proxy', typedConfig: typed('envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', proxy) });
  const chain: Msg = { filters };
  if (l.timeout?.tcp?.tlsHandshakeTimeout && terminate) chain.transportSocketConnectTimeout = protoDuration(l.timeout.tcp.tlsHandshakeTimeout);
  if (passthrough) addServerNamesMatch(xl, chain, r.tls!.inspector!.snis, l.tls?.fingerprints);
  if (terminate) {
    chain.transportSocket = buildDownstreamTLSSocket(r.tls!.terminate!, { defaultALPN: ['h2', 'http/1.1'] });
    addServerNamesMatch(xl, chain, r.tls!.inspector?.snis);
  }
  if (r.name) chain.name = r.name;
  (xl.filterChains ??= []).push(chain);
}
