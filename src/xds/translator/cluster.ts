// Clusters: one per route destination (or per destination setting when settings differ in ways
// a cluster cannot express), with Envoy Gateway's defaults: EDS for static endpoints, the DNS
// cluster extension for hostnames, least-request load balancing with locality weights, 10s
// connect timeout, 32KiB buffers, 1024 retries in the circuit breaker.
import type {
  CircuitBreaker, DestinationSetting, HealthCheck, HealthCheckLog, HTTP1Settings, HTTP2Settings, IPFamily, LoadBalancer,
  ResourceMetadata, TrafficFeatures,
} from '../../ir/xds.js';
import { buildLoadAssignment } from './endpoint.js';
import { upstreamHTTPFilters } from './upstreamfilters.js';
import { buildHashPolicies } from './route-policy.js';
import { buildResourceMetadata } from './metadata.js';
import { buildUpstreamTLSSocket, type TLSOptions } from './tls.js';
import { keepaliveSettings } from './hcm.js';
import { compact, parseGoDuration, protoDuration, typed, type Msg } from './util.js';

/** How a cluster finds its endpoints: EDS, DNS, or the request's own host (dynamic forward proxy). */
export type EndpointType = 'static' | 'dns' | 'dynamic';

export interface ClusterArgs {
  name: string;
  settings: DestinationSetting[];
  endpointType: EndpointType;
  traffic?: TrafficFeatures;
  /** The listener's HTTP/1 settings (trailers, header case) carried to the upstream. */
  http1?: HTTP1Settings;
  /** Upstream HTTP/2 options (from the route's traffic features). */
  http2?: HTTP2Settings;
  useClientProtocol?: boolean;
  ipFamily?: IPFamily;
  metadata?: ResourceMetadata;
  statName?: string;
  /** Per-endpoint stats requested by the EnvoyProxy metrics settings. */
  perEndpointStats?: boolean;
  /** Request/response size histograms requested by the EnvoyProxy metrics settings. */
  requestResponseSizes?: boolean;
  /** Raw TCP/UDP cluster: no HTTP protocol options. */
  noHTTPOptions?: boolean;
  tls?: TLSOptions;
  /** Health check event logging for active health checks that do not configure their own. */
  defaultHealthCheckLog?: HealthCheckLog;
  /** A fixed transport socket (for Envoy Gateway's own services). */
  transportSocket?: Msg;
  /**
   * The cluster serves a filter, not a route: consistent hashing needs its hash policy in the
   * cluster's protocol options (there is no route to carry it).
   */
  hashPolicyInCluster?: boolean;
}

const defaultConnectTimeout = '10s';
const defaultBufferLimit = 32768;
const defaultMaxRetries = 1024;

/** The settings a cluster of static endpoints can hold: EDS, unless any endpoint is a hostname. */
export function endpointTypeOf(settings: DestinationSetting[] | undefined): EndpointType {
  if (settings?.some((s) => s.isDynamicResolver)) return 'dynamic';
  for (const s of settings ?? []) if (s.addressType === 'FQDN') return 'dns';
  return 'static';
}

export function buildCluster(args: ClusterArgs): Msg {
  const t = args.traffic ?? {};
  const dnsFamily = dnsLookupFamily(args.ipFamily, t.dns?.lookupFamily);
  const c: Msg = { name: args.name };
  if (args.statName) c.altStatName = args.statName;
  c.connectTimeout = protoDuration(t.timeout?.tcp?.connectTimeout) ?? defaultConnectTimeout;
  c.perConnectionBufferLimitBytes = t.backendConnection?.bufferLimit ?? defaultBufferLimit;
  c.dnsLookupFamily = dnsFamily;
  c.commonLbConfig = commonLbConfig(t.healthCheck);
  c.loadBalancingPolicy = loadBalancingPolicy(t.loadBalancer, args.settings);
  if (args.endpointType === 'dynamic') {
    // Upstreams are resolved from each request's host through a DNS cache; the cluster picks.
    c.clusterType = {
      name: 'envoy.clusters.dynamic_forward_proxy',
      typedConfig: typed('envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig', { dnsCacheConfig: dnsCacheConfig(t.dns, dnsFamily) }),
    };
    c.loadBalancingPolicy = {
      policies: [{
        typedExtensionConfig: {
          name: 'envoy.load_balancing_policies.cluster_provided',
          typedConfig: typed('envoy.extensions.load_balancing_policies.cluster_provided.v3.ClusterProvided'),
        },
      }],
    };
  } else if (args.endpointType === 'static') {
    c.type = 'EDS';
    c.edsClusterConfig = { edsConfig: { ads: {}, resourceApiVersion: 'V3' }, serviceName: args.name };
  } else {
    c.clusterType = {
      name: 'envoy.cluster.dns',
      typedConfig: typed('envoy.extensions.clusters.dns.v3.DnsCluster', compact({
        dnsRefreshRate: protoDuration(t.dns?.dnsRefreshRate) ?? '30s',
        respectDnsTtl: (t.dns?.respectDnsTtl ?? true) || undefined,
        dnsLookupFamily: dnsFamily,
      })),
    };
    c.loadAssignment = buildLoadAssignment(args.name, args.settings, { lb: t.loadBalancer, healthCheck: t.healthCheck });
  }
  c.ignoreHealthOnHostRemoval = true;
  c.circuitBreakers = circuitBreakers(t.circuitBreaker);
  const hcs = healthChecks(t.healthCheck, args.defaultHealthCheckLog);
  if (hcs) c.healthChecks = hcs;
  const od = outlierDetection(t.healthCheck);
  if (od) c.outlierDetection = od;
  const keepalive = t.tcpKeepalive;
  if (keepalive) {
    c.upstreamConnectionOptions = {
      tcpKeepalive: compact({ keepaliveProbes: keepalive.probes, keepaliveTime: keepalive.idleTime, keepaliveInterval: keepalive.interval }),
    };
  }
  const pre = t.backendConnection?.preconnect;
  if (pre) {
    c.preconnectPolicy = compact({
      perUpstreamPreconnectRatio: pre.perEndpointPercent !== undefined ? pre.perEndpointPercent / 100 : undefined,
      predictivePreconnectRatio: pre.predictivePercent !== undefined ? pre.predictivePercent / 100 : undefined,
    });
  }
  if (args.perEndpointStats || args.requestResponseSizes) {
    c.trackClusterStats = compact({ requestResponseSizes: args.requestResponseSizes || undefined, perEndpointStats: args.perEndpointStats || undefined });
  }

  // Upstream TLS: one transport socket match per setting with TLS, selected by endpoint metadata.
  const matches: Msg[] = [];
  const dynamicTLS = args.endpointType === 'dynamic' ? args.settings.find((s) => s.tls)?.tls : undefined;
  args.settings.forEach((s, i) => {
    if (!s.tls || dynamicTLS) return;
    const matchName = `${args.name}/tls/${i}`;
    matches.push({
      name: matchName,
      match: { name: matchName },
      transportSocket: withProxyProtocol(buildUpstreamTLSSocket(s.tls, args.tls), t.proxyProtocol?.version),
    });
  });
  if (matches.length) c.transportSocketMatches = matches;
  if (matches.length && matches.length === args.settings.length) {
    // All upstreams speak TLS: a TLS default socket tells Envoy this is a TLS cluster (for
    // auto SNI and ALPN); the matches carry the real per-setting contexts.
    c.transportSocket = withProxyProtocol({
      name: 'dummy.transport_socket',
      typedConfig: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', { commonTlsContext: {} }),
    }, t.proxyProtocol?.version);
  } else if (t.proxyProtocol) {
    c.transportSocket = withProxyProtocol(undefined, t.proxyProtocol.version);
  }
  // A dynamic forward proxy's SNI and SAN checks follow each request's host (protocol options).
  if (dynamicTLS) c.transportSocket = buildUpstreamTLSSocket(dynamicTLS);
  if (args.transportSocket) c.transportSocket = args.transportSocket;

  if (!args.noHTTPOptions) {
    const po = httpProtocolOptions(args, t);
    if (po) c.typedExtensionProtocolOptions = { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': po };
  }
  const md = buildResourceMetadata(args.metadata);
  if (md) c.metadata = md;
  return c;
}

/**
 * The DNS cache of dynamic forward proxy clusters, shared by all clusters with the same settings:
 * named after the lookup family, the refresh rate and the policy that set them.
 */
function dnsCacheConfig(dns: TrafficFeatures['dns'], family: string): Msg {
  const refresh = protoDuration(dns?.dnsRefreshRate) ?? '30s';
  const ms = Math.round((parseGoDuration(dns?.dnsRefreshRate) ?? 30e9) / 1e6);
  return { name: `envoy-gateway-dfp-cache-${family.toLowerCase()}-${ms}ms-${dns?.name ?? 'default'}`, dnsLookupFamily: family, dnsRefreshRate: refresh };
}

function dnsLookupFamily(ipFamily: IPFamily | undefined, lookupFamily: string | undefined): string {
  switch (lookupFamily) {
    case 'IPv4': return 'V4_ONLY';
    case 'IPv6': return 'V6_ONLY';
    case 'IPv4Preferred': return 'V4_PREFERRED';
    case 'IPv6Preferred': return 'AUTO';
    case 'IPv4AndIPv6': return 'ALL';
  }
  switch (ipFamily) {
    case 'IPv4': return 'V4_ONLY';
    case 'IPv6': return 'V6_ONLY';
    case 'DualStack': return 'ALL';
  }
  return 'V4_PREFERRED';
}

function commonLbConfig(hc: HealthCheck | undefined): Msg {
  const c: Msg = {};
  if (hc?.panicThreshold !== undefined && hc.panicThreshold !== 50) c.healthyPanicThreshold = { value: hc.panicThreshold };
  return c;
}

/** The load balancing policy, as a typed extension (Envoy's newer form of lb_policy). */
export function loadBalancingPolicy(lb: LoadBalancer | undefined, settings: DestinationSetting[]): Msg {
  const locality = localityLbConfig(lb, settings);
  let name: string;
  let config: Msg;
  if (lb?.roundRobin) {
    name = 'envoy.load_balancing_policies.round_robin';
    config = typed('envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin', compact({
      slowStartConfig: slowStart(lb.roundRobin.slowStart?.window),
      localityLbConfig: locality,
    }));
  } else if (lb?.random) {
    name = 'envoy.load_balancing_policies.random';
    config = typed('envoy.extensions.load_balancing_policies.random.v3.Random', { localityLbConfig: locality });
  } else if (lb?.consistentHash) {
    name = 'envoy.load_balancing_policies.maglev';
    config = typed('envoy.extensions.load_balancing_policies.maglev.v3.Maglev', compact({
      tableSize: lb.consistentHash.tableSize !== undefined ? String(lb.consistentHash.tableSize) : undefined,
      localityWeightedLbConfig: {},
    }));
  } else if (lb?.backendUtilization) {
    const bu = lb.backendUtilization;
    const cswrr = compact({
      enableOobLoadReport: bu.outOfBand ? true : undefined,
      oobReportingPeriod: protoDuration(bu.outOfBand?.reportingPeriod),
      oobReportingConfig: bu.outOfBand && (bu.outOfBand.authority || bu.outOfBand.port)
        ? compact({ authority: bu.outOfBand.authority, portValue: bu.outOfBand.port })
        : undefined,
      blackoutPeriod: protoDuration(bu.blackoutPeriod),
      weightExpirationPeriod: protoDuration(bu.weightExpirationPeriod),
      weightUpdatePeriod: protoDuration(bu.weightUpdatePeriod),
      errorUtilizationPenalty: bu.errorUtilizationPenaltyPercent !== undefined ? bu.errorUtilizationPenaltyPercent / 100 : undefined,
      metricNamesForComputingUtilization: bu.metricNamesForComputingUtilization,
      slowStartConfig: slowStart(bu.slowStart?.window),
    });
    const picking = typed('envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin', cswrr);
    if (lb.weightedZones?.length) {
      // Locality weights need the locality-aware wrapper around the endpoint picking policy.
      name = 'envoy.load_balancing_policies.wrr_locality';
      config = typed('envoy.extensions.load_balancing_policies.wrr_locality.v3.WrrLocality', {
        endpointPickingPolicy: {
          policies: [{ typedExtensionConfig: { name: 'envoy.load_balancing_policies.client_side_weighted_round_robin', typedConfig: picking } }],
        },
      });
    } else {
      name = 'envoy.load_balancing_policies.client_side_weighted_round_robin';
      config = picking;
    }
  } else {
    name = 'envoy.load_balancing_policies.least_request';
    config = typed('envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest', compact({
      slowStartConfig: slowStart(lb?.leastRequest?.slowStart?.window),
      localityLbConfig: locality,
    }));
  }
  const policy = { policies: [{ typedExtensionConfig: { name, typedConfig: config } }] };
  const sources = lb?.endpointOverride?.extractFrom?.filter((e) => e.header).map((e) => ({ header: e.header }));
  if (!sources?.length) return policy;
  // A request may name its endpoint (e.g. a header set by an earlier hop); otherwise the policy picks.
  return {
    policies: [{
      typedExtensionConfig: {
        name: 'envoy.load_balancing_policies.override_host',
        typedConfig: typed('envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost', { overrideHostSources: sources, fallbackPolicy: policy }),
      },
    }],
  };
}

function slowStart(window: string | undefined): Msg | undefined {
  const w = protoDuration(window);
  return w ? { slowStartWindow: w } : undefined;
}

/** Zone-aware routing when a setting or the load balancer prefers the local zone; else locality weights. */
function localityLbConfig(lb: LoadBalancer | undefined, settings: DestinationSetting[]): Msg {
  const pl = lb?.preferLocal ?? settings.find((s) => s.preferLocal)?.preferLocal;
  if (!pl) return { localityWeightedLbConfig: {} };
  const zone: Msg = {};
  if (pl.percentageEnabled !== undefined) zone.routingEnabled = { value: pl.percentageEnabled };
  if (pl.minEndpointsThreshold !== undefined) zone.minClusterSize = String(pl.minEndpointsThreshold);
  if (pl.force) zone.forceLocalZone = compact({ minSize: pl.force.minEndpointsInZoneThreshold });
  return { zoneAwareLbConfig: zone };
}

function circuitBreakers(cb: CircuitBreaker | undefined): Msg {
  const th: Msg = {};
  if (cb?.maxConnections !== undefined) th.maxConnections = cb.maxConnections;
  if (cb?.maxPendingRequests !== undefined) th.maxPendingRequests = cb.maxPendingRequests;
  if (cb?.maxParallelRequests !== undefined) th.maxRequests = cb.maxParallelRequests;
  th.maxRetries = cb?.maxParallelRetries ?? defaultMaxRetries;
  if (cb?.retryBudget) {
    th.retryBudget = compact({
      budgetPercent: cb.retryBudget.percent !== undefined ? { value: cb.retryBudget.percent } : undefined,
      minRetryConcurrency: cb.retryBudget.minRetryConcurrency,
    });
  }
  const out: Msg = { thresholds: [th] };
  if (cb?.perEndpoint?.maxConnections !== undefined) out.perHostThresholds = [{ maxConnections: cb.perEndpoint.maxConnections }];
  return out;
}

function healthChecks(hc: HealthCheck | undefined, defaultLog: HealthCheckLog | undefined): Msg[] | undefined {
  const a = hc?.active;
  if (!a) return undefined;
  const h: Msg = {};
  h.timeout = protoDuration(a.timeout ?? undefined) ?? '1s';
  h.interval = protoDuration(a.interval) ?? '3s';
  if (a.initialJitter) h.initialJitter = protoDuration(a.initialJitter);
  h.unhealthyThreshold = a.unhealthyThreshold ?? 3;
  h.healthyThreshold = a.healthyThreshold ?? 1;
  if (a.http) {
    const http: Msg = {};
    if (a.http.host) http.host = a.http.host;
    http.path = a.http.path;
    if (a.http.method) http.method = a.http.method.toUpperCase();
    const statuses = a.http.expectedStatuses?.length ? a.http.expectedStatuses : [200];
    http.expectedStatuses = statusRanges(statuses);
    if (a.http.retriableStatuses?.length) http.retriableStatuses = statusRanges(a.http.retriableStatuses);
    const recv = payload(a.http.expectedResponse);
    if (recv) http.receive = [recv];
    const send = payload(a.http.requestBody);
    if (send) http.send = send;
    h.httpHealthCheck = http;
  } else if (a.grpc) {
    h.grpcHealthCheck = compact({ serviceName: a.grpc.service });
  } else if (a.tcp) {
    const tcp: Msg = {};
    const send = payload(a.tcp.send);
    if (send) tcp.send = send;
    const recv = payload(a.tcp.receive);
    if (recv) tcp.receive = [recv];
    h.tcpHealthCheck = tcp;
  }
  const log = a.backendHealthCheckLog ?? defaultLog;
  if (log) {
    if (log.alwaysLogHealthCheckFailures) h.alwaysLogHealthCheckFailures = true;
    if (log.alwaysLogHealthCheckSuccess) h.alwaysLogHealthCheckSuccess = true;
    if (log.fileSinks?.length) {
      h.eventLogger = log.fileSinks.map((s) => ({
        name: 'envoy.health_check.event_sinks.file',
        typedConfig: typed('envoy.extensions.health_check.event_sinks.file.v3.HealthCheckEventFileSink', { eventLogPath: s.path }),
      }));
    }
  }
  return [h];
}

/** HTTP statuses as [start, end) ranges, one per status (int64 in JSON: strings). */
function statusRanges(statuses: number[]): Msg[] {
  return statuses.map((s) => ({ start: String(s), end: String(s + 1) }));
}

/** A health check payload: text is sent hex-encoded, binary (base64 in the IR) as is. */
function payload(p: { text?: string; binary?: string } | undefined): Msg | undefined {
  if (!p) return undefined;
  if (p.text !== undefined && p.text !== '') return { text: Buffer.from(p.text).toString('hex') };
  if (p.binary) return { binary: p.binary };
  return undefined;
}

function outlierDetection(hc: HealthCheck | undefined): Msg | undefined {
  const p = hc?.passive;
  if (!p) return undefined;
  const o: Msg = {};
  if (p.splitExternalLocalOriginErrors) o.splitExternalLocalOriginErrors = true;
  if (p.interval) o.interval = protoDuration(p.interval);
  if (p.consecutiveLocalOriginFailures !== undefined) o.consecutiveLocalOriginFailure = p.consecutiveLocalOriginFailures;
  if (p.consecutiveGatewayErrors !== undefined) {
    o.consecutiveGatewayFailure = p.consecutiveGatewayErrors;
    // Gateway-error ejection is off by default in Envoy; an explicit setting turns it on.
    o.enforcingConsecutiveGatewayFailure = 100;
  }
  if (p.consecutive5XxErrors !== undefined) o.consecutive5xx = p.consecutive5XxErrors;
  if (p.baseEjectionTime) o.baseEjectionTime = protoDuration(p.baseEjectionTime);
  if (p.maxEjectionPercent !== undefined) o.maxEjectionPercent = p.maxEjectionPercent;
  if (p.failurePercentageThreshold !== undefined) {
    o.failurePercentageThreshold = p.failurePercentageThreshold;
    o.enforcingFailurePercentage = 100;
  }
  if (p.alwaysEjectOneEndpoint) o.alwaysEjectOneHost = true;
  return o;
}

/** Wraps a transport socket (or raw buffer) in the upstream PROXY protocol socket. */
function withProxyProtocol(inner: Msg | undefined, version: string | undefined): Msg | undefined {
  if (!version) return inner;
  return {
    name: 'envoy.transport_sockets.upstream_proxy_protocol',
    typedConfig: typed('envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport', {
      config: { version: version === 'V2' ? 'V2' : 'V1' },
      transportSocket: inner ?? {
        name: 'envoy.transport_sockets.raw_buffer',
        typedConfig: typed('envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer'),
      },
    }),
  };
}

/** Upstream HTTP/2 options: Envoy Gateway's window sizes unless the policy sets them. */
export function upstreamHTTP2Options(h2: HTTP2Settings | undefined): Msg {
  // Envoy Gateway's IR keeps the two windows under each other's key (see the IR type).
  const o: Msg = {
    initialStreamWindowSize: h2?.initialConnectionWindowSize ?? 65536,
    initialConnectionWindowSize: h2?.initialStreamWindowSize ?? 1048576,
  };
  if (h2?.maxConcurrentStreams !== undefined) o.maxConcurrentStreams = h2.maxConcurrentStreams;
  if (h2?.resetStreamOnError !== undefined) o.overrideStreamErrorOnInvalidHttpMessage = h2.resetStreamOnError;
  if (h2?.connectionKeepalive) o.connectionKeepalive = keepaliveSettings(h2.connectionKeepalive);
  return o;
}

/** The HTTP/1.1 options of a listener carried to its upstreams (trailers, header case, HTTP/1.0). */
export function http1ProtocolOptions(h1: HTTP1Settings | undefined): Msg {
  const o: Msg = {};
  if (h1?.enableTrailers) o.enableTrailers = true;
  if (h1?.preserveHeaderCase) {
    o.headerKeyFormat = {
      statefulFormatter: {
        name: 'preserve_case',
        typedConfig: typed('envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig'),
      },
    };
  }
  if (h1?.http10) {
    o.acceptHttp10 = true;
    if (h1.http10.defaultHost) o.defaultHostForHttp10 = h1.http10.defaultHost;
  }
  return o;
}

function isHTTP2Setting(s: DestinationSetting): boolean {
  return s.protocol === 'HTTP2' || s.protocol === 'GRPC' || s.protocol === 'GRPCS';
}

/** envoy.extensions.upstreams.http.v3.HttpProtocolOptions, when anything differs from Envoy's defaults. */
function httpProtocolOptions(args: ClusterArgs, t: TrafficFeatures): Msg | undefined {
  const settings = args.settings;
  const forceH1 = settings.some((s) => s.forceHTTP1Upstream);
  const h2 = !forceH1 && settings.some(isHTTP2Setting);
  // Upstream TLS everywhere: let ALPN pick h2 or http/1.1 per connection.
  const auto = !forceH1 && settings.length > 0 && settings.every((s) => s.tls);
  const common: Msg = {};
  const http = t.timeout?.http;
  if (http?.connectionIdleTimeout) common.idleTimeout = protoDuration(http.connectionIdleTimeout);
  if (http?.maxConnectionDuration) common.maxConnectionDuration = protoDuration(http.maxConnectionDuration);
  if (t.circuitBreaker?.maxRequestsPerConnection !== undefined) common.maxRequestsPerConnection = t.circuitBreaker.maxRequestsPerConnection;
  const h1opts = http1ProtocolOptions(args.http1);
  const needsH1 = Object.keys(h1opts).length > 0;
  const hasCommon = Object.keys(common).length > 0;
  const hash = args.hashPolicyInCluster ? buildHashPolicies(t.loadBalancer) : undefined;
  const filters = upstreamHTTPFilters(settings, t.admissionControl);
  if (!h2 && !auto && !forceH1 && !needsH1 && !hasCommon && !args.useClientProtocol && !hash && !filters.length) return undefined;
  const po: Msg = typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions');
  if (hasCommon) po.commonHttpProtocolOptions = common;
  if (hash) po.hashPolicy = hash;
  if (args.useClientProtocol) {
    po.useDownstreamProtocolConfig = { httpProtocolOptions: h1opts, http2ProtocolOptions: upstreamHTTP2Options(args.http2) };
  } else if (h2) {
    po.explicitHttpConfig = { http2ProtocolOptions: upstreamHTTP2Options(args.http2) };
  } else if (auto) {
    po.autoConfig = { httpProtocolOptions: h1opts, http2ProtocolOptions: upstreamHTTP2Options(args.http2) };
  } else {
    po.explicitHttpConfig = { httpProtocolOptions: h1opts };
  }
  if (filters.length) po.httpFilters = filters;
  return po;
}
