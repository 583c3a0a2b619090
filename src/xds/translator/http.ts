// HTTP listeners: the Envoy listener (new, or shared with earlier listeners on the same port),
// its connection manager, the RouteConfiguration with one virtual host per hostname, the
// clusters of every route's destination and mirrors, and the listener's secrets.
import type { DestinationSetting, HTTPListener, HTTPRoute, RouteDestination, Xds } from '../../ir/xds.js';
import { endpointTypeOf } from './cluster.js';
import type { Context } from './context.js';
import { buildHCM } from './hcm.js';
import { listenerFilters, orderFilters, routerFilter } from './httpfilters.js';
import { features } from './filters/index.js';
import {
  addProxyProtocol, addServerNamesMatch, buildQUICListener, buildTCPListener, connectionLimitFilter, findListener,
} from './listener.js';
import { buildResourceMetadata } from './metadata.js';
import { backendWeights, buildRoute, defaultMaxDirectResponseBody } from './route.js';
import { RouteError } from './route-policy.js';
import { buildCertificateSecret, buildCASecret, buildDownstreamTLSSocket } from './tls.js';
import { typed, underscored, type Msg } from './util.js';

const maxDirectResponseBody = 1048576;

/**
 * Whether a destination needs one cluster per setting (a weighted cluster on the route) rather
 * than one cluster whose localities are the settings: when settings carry per-backend filters,
 * differ in what a cluster-wide option would have to say (protocol, TLS SNI mode), cannot be
 * served, are mixed with shared backend clusters, or the load balancer works per zone.
 */
export function needsClusterPerSetting(r: HTTPRoute, dest: RouteDestination): boolean {
  const settings = dest.settings ?? [];
  if (!settings.length) return false;
  if (settings.some((s) => s.filters)) return true;
  if (dest.backendClusterRefs?.length) return true;
  const lb = r.traffic?.loadBalancer;
  if (lb?.preferLocal || lb?.weightedZones?.length) return true;
  const w = backendWeights(dest);
  if (w.invalid + w.empty > 0) return true;
  if (settings.length > 1) {
    const first = settings[0]!;
    // Cluster-wide options that settings would need differently: the upstream HTTP version...
    const h2 = (s: DestinationSetting) => (s.forceHTTP1Upstream ? 'h1' : s.protocol === 'HTTP2' || s.protocol === 'GRPC' ? 'h2' : '');
    if (settings.some((s) => h2(s) !== h2(first))) return true;
    // ... and how SNI is chosen for upstream TLS.
    const tls = settings.filter((s) => s.tls);
    if (tls.some((s) => !!s.tls!.autoSNIFromEndpointHostname !== !!tls[0]!.tls!.autoSNIFromEndpointHostname)) return true;
  }
  return false;
}

export function processHTTPListeners(ctx: Context, ir: Xds): void {
  for (const l of ir.http ?? []) {
    try {
      processHTTPListener(ctx, ir, l);
    } catch (err) {
      if (err instanceof RouteError) ctx.errors.push(err.message);
      else throw err;
    }
  }
}

function processHTTPListener(ctx: Context, ir: Xds, l: HTTPListener): void {
  const t = ctx.table;
  const http3 = l.http3 !== undefined && l.http3 !== null;
  let xl = findListener(t.out.listeners, l.address, l.port);
  let routeConfig: Msg | undefined;
  let quic: Msg | undefined;
  let addHCM = false;
  if (!xl) {
    const args = { name: ctx.names.listener(l, 'tcp'), address: l.address, port: l.port, ipFamily: l.ipFamily, keepalive: l.tcpKeepalive, connection: l.connection, accessLog: ir.accessLog };
    if (http3) {
      quic = buildQUICListener({ ...args, name: ctx.names.quicListener(l) });
      t.add('listeners', quic);
    }
    xl = buildTCPListener(args);
    t.add('listeners', xl);
    addHCM = true;
  } else if (!l.tls) {
    const rdsName = defaultChainRouteName(xl);
    addHCM = !rdsName;
    if (rdsName) {
      routeConfig = t.get('routes', rdsName);
      // The default chain is shared: this listener's filters join its connection manager.
      mergeFilters(xl.defaultFilterChain, policyFilters(ctx, ir, l), ir);
      if (quic?.defaultFilterChain) mergeFilters(quic.defaultFilterChain, policyFilters(ctx, ir, l), ir);
    }
  } else {
    addHCM = true;
  }
  if (http3 && !quic) quic = findListener(t.out.listeners, l.address, l.port, true);

  if (addHCM) {
    addHCMChain(ctx, ir, xl, l, false);
    if (quic) addHCMChain(ctx, ir, quic, l, true);
  }

  if (l.tls) {
    for (const c of l.tls.certificates ?? []) {
      if (c.sds) ctx.sdsServers.add(c.sds.address);
      else t.append('secrets', buildCertificateSecret(c));
    }
    if (l.tls.caCertificate) t.append('secrets', buildCASecret(l.tls.caCertificate, l.tls.crl));
  }
  for (const r of l.routes ?? []) {
    for (const s of r.destination?.settings ?? []) {
      for (const c of s.tls?.clientCertificates ?? []) t.add('secrets', buildCertificateSecret(c));
    }
  }

  if (!routeConfig) {
    routeConfig = { ignorePortInHostMatching: true, name: ctx.names.routeConfig(l) };
    t.add('routes', routeConfig);
  }
  addVirtualHosts(ctx, ir, routeConfig, l, http3);
  for (const f of features) f.resources?.(l, ctx, ir);
}

/** The filters the features of this listener's routes need. */
function policyFilters(ctx: Context, ir: Xds, l: HTTPListener): Msg[] {
  return features.flatMap((f) => f.filters(l, ctx, ir));
}

/** Adds filters missing from a chain's connection manager, keeping the order rules. */
function mergeFilters(chain: Msg | undefined, add: Msg[], ir: Xds): void {
  const hcm = chain?.filters?.find((f: Msg) => f.name === 'envoy.filters.network.http_connection_manager')?.typedConfig;
  if (!hcm) return;
  const have = new Map<string, Msg>((hcm.httpFilters ?? []).map((f: Msg) => [f.name, f]));
  for (const f of add) {
    const existing = have.get(f.name);
    if (existing) for (const feature of features) feature.mergeFilter?.(existing, f);
  }
  const missing = add.filter((f) => !have.has(f.name));
  if (missing.length) hcm.httpFilters = orderFilters([...hcm.httpFilters, ...missing], ir.filterOrder);
}

/** The route configuration name of the HTTP connection manager in a listener's default chain. */
function defaultChainRouteName(xl: Msg): string | undefined {
  for (const f of xl.defaultFilterChain?.filters ?? []) {
    if (f.name === 'envoy.filters.network.http_connection_manager') return f.typedConfig?.rds?.routeConfigName;
  }
  return undefined;
}

function addHCMChain(ctx: Context, ir: Xds, xl: Msg, l: HTTPListener, http3: boolean): void {
  const filters = orderFilters([...listenerFilters(l), ...policyFilters(ctx, ir, l), routerFilter(l)], ir.filterOrder);
  const statPrefix = ctx.names.httpStatPrefix(l);
  const hcm = buildHCM(l, { statPrefix, routeConfigName: ctx.names.routeConfig(l), accessLog: ir.accessLog, http3, hcmTracing: ctx.hcmTracing(ir, l), httpFilters: filters });
  const networkFilters: Msg[] = [];
  const cl = connectionLimitFilter(statPrefix, l.connection);
  if (cl) networkFilters.push(cl);
  networkFilters.push({
    name: 'envoy.filters.network.http_connection_manager',
    typedConfig: typed('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm),
  });
  if (l.proxyProtocol) addProxyProtocol(xl, l.proxyProtocol.optional);
  if (l.timeout?.tcp?.connectionInspectionTimeout) xl.listenerFiltersTimeout = ctx.duration(l.timeout.tcp.connectionInspectionTimeout);
  const chain: Msg = { filters: networkFilters };
  if (l.timeout?.tcp?.tlsHandshakeTimeout) chain.transportSocketConnectTimeout = ctx.duration(l.timeout.tcp.tlsHandshakeTimeout);
  if (l.tls) {
    chain.transportSocket = http3
      ? quicTransportSocket(l)
      : buildDownstreamTLSSocket(l.tls, { defaultALPN: ['h2', 'http/1.1'], forceHTTP11: l.tlsOverlaps });
    addServerNamesMatch(xl, chain, l.hostnames, l.tls.fingerprints);
    chain.name = l.name;
    (xl.filterChains ??= []).push(chain);
  } else {
    chain.name = ctx.names.routeConfig(l);
    if (xl.defaultFilterChain) throw new Error(`listener ${l.name}: default filter chain already exists`);
    xl.defaultFilterChain = chain;
  }
}

function quicTransportSocket(l: HTTPListener): Msg {
  const tls = buildDownstreamTLSSocket(l.tls!, { defaultALPN: ['h3'] });
  return {
    name: 'envoy.transport_sockets.quic',
    typedConfig: typed('envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport', {
      downstreamTlsContext: { ...tls.typedConfig, '@type': undefined },
    }),
  };
}

function addVirtualHosts(ctx: Context, ir: Xds, rc: Msg, l: HTTPListener, http3: boolean): void {
  const vhosts = new Map<string, Msg>();
  const list: Msg[] = [];
  for (const r of l.routes ?? []) {
    const hostname = r.hostname ?? '';
    let vh = vhosts.get(hostname);
    if (!vh) {
      vh = { name: ctx.names.virtualHost(l, hostname), domains: [hostname] };
      const md = buildResourceMetadata(l.metadata);
      if (md) vh.metadata = md;
      if (ir.metrics?.enableVirtualHostStats) {
        vh.virtualClusters = [{
          name: underscored(hostname),
          headers: [{ name: ':authority', stringMatch: { prefix: hostname } }],
        }];
      }
      vhosts.set(hostname, vh);
      list.push(vh);
    }
    const dest = r.destination;
    const perSetting = dest ? needsClusterPerSetting(r, dest) : false;
    let route: Msg;
    try {
      route = buildRoute(r, { listener: l, clusterPerSetting: perSetting });
    } catch (err) {
      if (err instanceof RouteError) {
        ctx.errors.push(`route ${r.name}: ${err.message}`);
        continue;
      }
      throw err;
    }
    for (const f of features) {
      f.patchRoute?.(route, r, l);
      const cfg = f.perRoute?.(r, l, ctx);
      if (cfg) route.typedPerFilterConfig = { ...(route.typedPerFilterConfig ?? {}), ...cfg };
    }
    if (http3 && l.http3) {
      (route.responseHeadersToAdd ??= []).push({
        header: { key: 'alt-svc', value: `h3=":${l.externalPort ?? l.port}"; ma=86400` },
        append: true,
      });
    }
    if (r.directResponse?.body && Buffer.from(r.directResponse.body, 'base64').length > defaultMaxDirectResponseBody) {
      rc.maxDirectResponseBodySizeBytes = maxDirectResponseBody;
    }
    (vh.routes ??= []).push(route);

    if (dest) addRouteClusters(ctx, ir, l, r, dest, perSetting);
    for (const m of r.mirrors ?? []) {
      ctx.addCluster({ name: m.destination.name, settings: m.destination.settings ?? [], endpointType: 'static', metadata: m.destination.metadata });
    }
  }
  if (list.length) (rc.virtualHosts ??= []).push(...list);
}

function addRouteClusters(ctx: Context, ir: Xds, l: HTTPListener, r: HTTPRoute, dest: RouteDestination, perSetting: boolean): void {
  const settings = dest.settings ?? [];
  // A destination of shared backend clusters only needs no cluster of its own.
  if (!settings.length && dest.backendClusterRefs?.length) return;
  const common = {
    traffic: r.traffic,
    http1: l.http1,
    http2: r.traffic?.http2,
    useClientProtocol: r.useClientProtocol,
    metadata: dest.metadata,
    perEndpointStats: ir.metrics?.enablePerEndpointStats,
    requestResponseSizes: ir.metrics?.enableRequestResponseSizesStats,
    statName: dest.statName,
  };
  if (!perSetting) {
    ctx.addCluster({ ...common, name: dest.name, settings, endpointType: endpointTypeOf(settings), ipFamily: ipFamilyOf(settings) });
    return;
  }
  for (const s of settings) {
    ctx.addCluster({ ...common, name: s.name, settings: [s], endpointType: endpointTypeOf([s]), ipFamily: ipFamilyOf([s]) });
  }
}

/** The address family of a destination's endpoints, for the cluster's DNS lookup family. */
export function ipFamilyOf(settings: DestinationSetting[]): 'IPv4' | 'IPv6' | 'DualStack' | undefined {
  for (const s of settings) if (s.ipFamily) return s.ipFamily;
  return undefined;
}
