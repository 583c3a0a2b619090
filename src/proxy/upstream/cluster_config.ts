// envoy.config.cluster.v3.Cluster compiled into settings: discovery type, load balancing,
// circuit breakers, protocol, transport socket, timeouts. Health checking and outlier detection
// settings are kept for their implementations (see health/ and outlier/).
import { ConfigError } from '../config/errors.js';
import { anyType, at, bool, durationMs, enumOf, field, list, num, numOr, obj, str, type Json } from '../config/json.js';
import { compileCommonTls, type CommonTls } from '../tls/common.js';
import type { ReadFile } from '../tls/secrets.js';
import type { LbSettings, LbPolicyKind } from './lb.js';
import { compileAssignment, type Assignment } from './endpoints.js';
import { compileHealthChecks, type HealthCheckSettings } from '../health/health_check_config.js';
import { compileOutlierDetection, type OutlierSettings } from '../health/outlier.js';
import type { FilterFactoryContext, HttpFilter } from '../http/filter.js';
import { httpFilterFactory } from '../http/filter_registry.js';

export type Discovery = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS';
export type UpstreamProtocol = 'h1' | 'h2' | 'downstream' | 'alpn';

export interface UpstreamTls {
  common: CommonTls;
  sni: string;
  autoHostSni: boolean;
  autoSniSanValidation: boolean;
}

export interface TransportSocket {
  tls: UpstreamTls | undefined;
  /** PROXY protocol header version to send before anything else (1 or 2), or 0. */
  proxyProtocol: 0 | 1 | 2;
}

export interface CircuitBreakers {
  maxConnections: number;
  maxPendingRequests: number;
  maxRequests: number;
  maxRetries: number;
  maxConnectionPools: number;
}

export interface ClusterSettings {
  name: string;
  /** The JSON it was compiled from, for change detection and config dumps. */
  source: string;
  discovery: Discovery;
  edsServiceName: string;
  /** STATIC / DNS clusters carry their endpoints inline. */
  assignment: Assignment | undefined;
  connectTimeoutMs: number;
  lb: LbSettings;
  breakers: CircuitBreakers;
  protocol: UpstreamProtocol;
  transport: TransportSocket;
  /** transport_socket_matches: by endpoint metadata (envoy.transport_socket_match). */
  transportMatches: { name: string; match: Record<string, unknown>; transport: TransportSocket }[];
  idleTimeoutMs: number;
  maxRequestsPerConnection: number;
  maxConnectionDurationMs: number;
  http2: { maxConcurrentStreams: number; initialStreamWindowSize: number; initialConnectionWindowSize: number };
  dnsLookupFamily: 'AUTO' | 'V4_ONLY' | 'V6_ONLY' | 'V4_PREFERRED' | 'ALL';
  dnsRefreshRateMs: number;
  respectDnsTtl: boolean;
  perConnectionBufferLimitBytes: number;
  tcpKeepalive: { probes?: number; timeS?: number; intervalS?: number } | undefined;
  healthChecks: HealthCheckSettings[];
  outlierDetection: OutlierSettings | undefined;
  ignoreHealthOnHostRemoval: boolean;
  /**
   * HTTP filters run on requests to this cluster before they go upstream (HttpProtocolOptions
   * http_filters, the upstream codec left out); undefined when there are none.
   */
  upstreamHttpFilters: HttpFilter[] | undefined;
  /** The context those filters were made with: the cluster sets the live secrets on it. */
  upstreamFilterContext: FilterFactoryContext | undefined;
  altStatName: string;
  autoSni: boolean;
  autoSanValidation: boolean;
  /** HTTP/1.1 header names written as received (preserve_case formatter). */
  preserveHeaderCase: boolean;
  /** Hash policy for TCP/UDP proxy (upstream HttpProtocolOptions hash_policy is not used by HTTP). */
}

const LB_POLICIES = ['ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH', 'RANDOM', 'MAGLEV', 'CLUSTER_PROVIDED', 'LOAD_BALANCING_POLICY_CONFIG'] as const;
const POLICY_TYPES: Record<string, LbPolicyKind> = {
  'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin': 'ROUND_ROBIN',
  'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest': 'LEAST_REQUEST',
  'envoy.extensions.load_balancing_policies.random.v3.Random': 'RANDOM',
  'envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash': 'RING_HASH',
  'envoy.extensions.load_balancing_policies.maglev.v3.Maglev': 'MAGLEV',
  // Client-side weighted round robin weighs hosts by the load reports (ORCA) they send; hosts
  // without reports get the mean weight, so without reports it is round robin over the
  // endpoint weights, which is what this proxy does (it does not read ORCA reports).
  'envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin': 'ROUND_ROBIN',
};
const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const UPSTREAM_TLS = 'envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const RAW_BUFFER = 'envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer';
const PROXY_PROTOCOL_UPSTREAM = 'envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport';
const DNS_CLUSTER = 'envoy.extensions.clusters.dns.v3.DnsCluster';
const UPSTREAM_CODEC = 'envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec';
const PRESERVE_CASE = 'envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig';

export function compileCluster(c: Json, readFile: ReadFile, path = ''): ClusterSettings {
  const name = str(c, 'name', path);
  if (!name) throw new ConfigError(at(path, 'name'), 'required');
  let discovery: Discovery = enumOf(c, 'type', path, ['STATIC', 'STRICT_DNS', 'LOGICAL_DNS', 'EDS', 'ORIGINAL_DST'] as const, 'STATIC') as Discovery;
  if ((discovery as string) === 'ORIGINAL_DST') throw new ConfigError(at(path, 'type'), 'ORIGINAL_DST clusters are not supported');
  let dnsRefreshRateMs = durationMs(c, 'dnsRefreshRate', path) ?? 5000;
  let respectDnsTtl = bool(c, 'respectDnsTtl', path);
  let dnsLookupFamily = enumOf(c, 'dnsLookupFamily', path, ['AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const, 'AUTO');
  const ct = obj(c, 'clusterType', path);
  if (ct) {
    const cp = at(path, 'clusterType');
    const tc = obj(ct, 'typedConfig', cp);
    const type = tc ? anyType(tc, at(cp, 'typedConfig')) : '';
    if (type !== DNS_CLUSTER) throw new ConfigError(at(cp, 'typedConfig'), `unsupported cluster type ${type || str(ct, 'name', cp)}`);
    const tp = at(cp, 'typedConfig');
    discovery = bool(tc!, 'allAddressesInSingleEndpoint', tp) ? 'LOGICAL_DNS' : 'STRICT_DNS';
    dnsRefreshRateMs = durationMs(tc!, 'dnsRefreshRate', tp) ?? dnsRefreshRateMs;
    respectDnsTtl = bool(tc!, 'respectDnsTtl', tp, respectDnsTtl);
    dnsLookupFamily = enumOf(tc!, 'dnsLookupFamily', tp, ['UNSPECIFIED', 'AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const, 'UNSPECIFIED') === 'UNSPECIFIED'
      ? dnsLookupFamily
      : (enumOf(tc!, 'dnsLookupFamily', tp, ['UNSPECIFIED', 'AUTO', 'V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const, 'AUTO') as typeof dnsLookupFamily);
  }
  const eds = obj(c, 'edsClusterConfig', path);
  const la = obj(c, 'loadAssignment', path);
  if (discovery === 'EDS' && la) throw new ConfigError(at(path, 'loadAssignment'), 'an EDS cluster takes its endpoints from EDS');
  const assignment = la ? compileAssignment(la, at(path, 'loadAssignment')) : discovery === 'EDS' ? undefined : { priorities: [] };
  if (discovery === 'LOGICAL_DNS' && assignment && assignment.priorities.flat().length > 1) {
    throw new ConfigError(at(path, 'loadAssignment'), 'LOGICAL_DNS clusters must have a single endpoint');
  }

  const lb = compileLb(c, path);
  const breakers: CircuitBreakers = { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3, maxConnectionPools: Infinity };
  const cb = obj(c, 'circuitBreakers', path);
  if (cb) {
    list(cb, 'thresholds', at(path, 'circuitBreakers')).forEach((t: Json, i: number) => {
      const tp = at(at(path, 'circuitBreakers.thresholds'), i);
      if (field(t, 'priority') === 'HIGH' || field(t, 'priority') === 1) return; // routes use the default priority
      breakers.maxConnections = numOr(t, 'maxConnections', tp, 1024);
      breakers.maxPendingRequests = numOr(t, 'maxPendingRequests', tp, 1024);
      breakers.maxRequests = numOr(t, 'maxRequests', tp, 1024);
      breakers.maxRetries = numOr(t, 'maxRetries', tp, 3);
      breakers.maxConnectionPools = num(t, 'maxConnectionPools', tp) ?? Infinity;
    });
  }

  let protocol: UpstreamProtocol = obj(c, 'http2ProtocolOptions', path) ? 'h2' : 'h1';
  let idleTimeoutMs = 3600_000;
  let maxRequestsPerConnection = 0;
  let maxConnectionDurationMs = 0;
  let autoSni = false;
  let upstreamHttpFilters: HttpFilter[] | undefined;
  let upstreamFilterContext: FilterFactoryContext | undefined;
  let autoSanValidation = false;
  let preserveHeaderCase = false;
  let h2Opts: Json = obj(c, 'http2ProtocolOptions', path) ?? {};
  let h2Path = at(path, 'http2ProtocolOptions');
  const common = obj(c, 'commonHttpProtocolOptions', path);
  if (common) {
    idleTimeoutMs = durationMs(common, 'idleTimeout', at(path, 'commonHttpProtocolOptions')) ?? idleTimeoutMs;
    maxRequestsPerConnection = numOr(common, 'maxRequestsPerConnection', at(path, 'commonHttpProtocolOptions'), 0);
  }
  const tepo = obj(c, 'typedExtensionProtocolOptions', path) ?? {};
  for (const [key, any] of Object.entries(tepo)) {
    const p = at(at(path, 'typedExtensionProtocolOptions'), key);
    const type = anyType(any as Json, p);
    if (type !== HTTP_PROTOCOL_OPTIONS) throw new ConfigError(p, `unsupported protocol options ${type}`);
    const o = any as Json;
    const explicit = obj(o, 'explicitHttpConfig', p);
    if (explicit) {
      const h2 = obj(explicit, 'http2ProtocolOptions', at(p, 'explicitHttpConfig'));
      if (h2) { protocol = 'h2'; h2Opts = h2; h2Path = at(p, 'explicitHttpConfig.http2ProtocolOptions'); }
      else if (obj(explicit, 'http3ProtocolOptions', at(p, 'explicitHttpConfig'))) throw new ConfigError(at(p, 'explicitHttpConfig.http3ProtocolOptions'), 'HTTP/3 upstreams are not supported');
      else protocol = 'h1';
      const h1 = obj(explicit, 'httpProtocolOptions', at(p, 'explicitHttpConfig'));
      const hkf = h1 && obj(h1, 'headerKeyFormat', at(p, 'explicitHttpConfig.httpProtocolOptions'));
      if (hkf) {
        const kp = at(p, 'explicitHttpConfig.httpProtocolOptions.headerKeyFormat');
        const sf = obj(hkf, 'statefulFormatter', kp);
        const tc = sf && obj(sf, 'typedConfig', at(kp, 'statefulFormatter'));
        if (tc && anyType(tc, at(kp, 'statefulFormatter.typedConfig')) === PRESERVE_CASE) preserveHeaderCase = true;
        else if (!obj(hkf, 'properCaseWords', kp)) throw new ConfigError(kp, 'unsupported header key format');
      }
    } else if (obj(o, 'useDownstreamProtocolConfig', p)) {
      protocol = 'downstream';
      const h2 = obj(obj(o, 'useDownstreamProtocolConfig', p)!, 'http2ProtocolOptions', at(p, 'useDownstreamProtocolConfig'));
      if (h2) { h2Opts = h2; h2Path = at(p, 'useDownstreamProtocolConfig.http2ProtocolOptions'); }
    } else if (obj(o, 'autoConfig', p)) {
      protocol = 'alpn';
      const h2 = obj(obj(o, 'autoConfig', p)!, 'http2ProtocolOptions', at(p, 'autoConfig'));
      if (h2) { h2Opts = h2; h2Path = at(p, 'autoConfig.http2ProtocolOptions'); }
    }
    const cp = obj(o, 'commonHttpProtocolOptions', p);
    if (cp) {
      idleTimeoutMs = durationMs(cp, 'idleTimeout', at(p, 'commonHttpProtocolOptions')) ?? idleTimeoutMs;
      maxRequestsPerConnection = numOr(cp, 'maxRequestsPerConnection', at(p, 'commonHttpProtocolOptions'), 0);
      maxConnectionDurationMs = durationMs(cp, 'maxConnectionDuration', at(p, 'commonHttpProtocolOptions')) ?? 0;
    }
    const up = obj(o, 'upstreamHttpProtocolOptions', p);
    if (up) {
      autoSni = bool(up, 'autoSni', at(p, 'upstreamHttpProtocolOptions'));
      autoSanValidation = bool(up, 'autoSanValidation', at(p, 'upstreamHttpProtocolOptions'));
    }
    const filters = list(o, 'httpFilters', p);
    filters.forEach((f: Json, i: number) => {
      const fp = at(at(p, 'httpFilters'), i);
      const tc = obj(f, 'typedConfig', fp);
      const t = tc ? anyType(tc, at(fp, 'typedConfig')) : '';
      const last = i === filters.length - 1;
      if (t === UPSTREAM_CODEC) {
        if (!last) throw new ConfigError(at(fp, 'typedConfig'), 'the upstream codec must be the last upstream HTTP filter');
        return;
      }
      if (last) throw new ConfigError(at(fp, 'typedConfig'), 'the last upstream HTTP filter must be the upstream codec');
      const factory = t ? httpFilterFactory(t) : undefined;
      if (!factory) throw new ConfigError(at(fp, 'typedConfig'), `unsupported upstream HTTP filter ${t || str(f, 'name', fp)}`);
      if (bool(f, 'disabled', fp)) throw new ConfigError(at(fp, 'disabled'), 'upstream HTTP filters cannot be disabled');
      upstreamFilterContext ??= { readFile };
      const filter = factory.create(str(f, 'name', fp), tc!, at(fp, 'typedConfig'), upstreamFilterContext);
      // The router runs upstream filters on the request headers only.
      if (filter.encodeHeaders || filter.decodeData || filter.encodeData || filter.decodeTrailers || filter.encodeTrailers) {
        throw new ConfigError(at(fp, 'typedConfig'), `${t} is not supported as an upstream HTTP filter (it works on bodies or responses)`);
      }
      (upstreamHttpFilters ??= []).push(filter);
    });
  }

  const transport = compileTransportSocket(obj(c, 'transportSocket', path), at(path, 'transportSocket'), readFile);
  const transportMatches = list(c, 'transportSocketMatches', path).map((m: Json, i: number) => {
    const mp = at(at(path, 'transportSocketMatches'), i);
    return { name: str(m, 'name', mp), match: (obj(m, 'match', mp) ?? {}) as Record<string, unknown>, transport: compileTransportSocket(obj(m, 'transportSocket', mp), at(mp, 'transportSocket'), readFile) };
  });

  const uco = obj(c, 'upstreamConnectionOptions', path);
  const ka = uco && obj(uco, 'tcpKeepalive', at(path, 'upstreamConnectionOptions'));
  const kap = at(path, 'upstreamConnectionOptions.tcpKeepalive');
  for (const unsupported of ['lrsServer', 'upstreamBindConfig', 'filters', 'lbSubsetConfig', 'clusterProvided']) {
    const v = field(c, unsupported);
    if (v !== undefined && v !== null && (!Array.isArray(v) || v.length)) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  return {
    name,
    source: JSON.stringify(c),
    discovery,
    edsServiceName: eds ? str(eds, 'serviceName', at(path, 'edsClusterConfig'), name) || name : name,
    assignment,
    connectTimeoutMs: durationMs(c, 'connectTimeout', path) ?? 5000,
    lb,
    breakers,
    protocol,
    transport,
    transportMatches,
    idleTimeoutMs,
    maxRequestsPerConnection,
    maxConnectionDurationMs,
    http2: {
      maxConcurrentStreams: numOr(h2Opts, 'maxConcurrentStreams', h2Path, 2147483647),
      initialStreamWindowSize: numOr(h2Opts, 'initialStreamWindowSize', h2Path, 268435456),
      initialConnectionWindowSize: numOr(h2Opts, 'initialConnectionWindowSize', h2Path, 268435456),
    },
    dnsLookupFamily,
    dnsRefreshRateMs,
    respectDnsTtl,
    perConnectionBufferLimitBytes: numOr(c, 'perConnectionBufferLimitBytes', path, 1024 * 1024),
    tcpKeepalive: ka ? { probes: num(ka, 'keepaliveProbes', kap), timeS: num(ka, 'keepaliveTime', kap), intervalS: num(ka, 'keepaliveInterval', kap) } : undefined,
    healthChecks: compileHealthChecks(list(c, 'healthChecks', path), at(path, 'healthChecks')),
    outlierDetection: obj(c, 'outlierDetection', path) ? compileOutlierDetection(obj(c, 'outlierDetection', path)!, at(path, 'outlierDetection')) : undefined,
    ignoreHealthOnHostRemoval: bool(c, 'ignoreHealthOnHostRemoval', path),
    upstreamHttpFilters,
    upstreamFilterContext,
    altStatName: str(c, 'altStatName', path),
    autoSni,
    autoSanValidation,
    preserveHeaderCase,
  };
}

function compileLb(c: Json, path: string): LbSettings {
  const common = obj(c, 'commonLbConfig', path) ?? {};
  const cp = at(path, 'commonLbConfig');
  const panic = obj(common, 'healthyPanicThreshold', cp);
  const s: LbSettings = {
    kind: 'ROUND_ROBIN',
    localityWeighted: obj(common, 'localityWeightedLbConfig', cp) !== undefined,
    panicThreshold: panic ? numOr(panic, 'value', at(cp, 'healthyPanicThreshold'), 50) : 50,
    choiceCount: 2,
    activeRequestBias: 1,
    ringMin: 1024,
    ringMax: 8 * 1024 * 1024,
    maglevTableSize: 65537,
  };
  const lbp = obj(c, 'loadBalancingPolicy', path);
  if (lbp) {
    const pp = at(path, 'loadBalancingPolicy');
    const policies = list(lbp, 'policies', pp);
    // Envoy uses the first policy in the list that it supports.
    let chosen = false;
    const unsupported: string[] = [];
    policies.forEach((p: Json, i: number) => {
      if (chosen) return;
      const ip = at(at(pp, 'policies'), i);
      const tec = obj(p, 'typedExtensionConfig', ip);
      const tc = tec && obj(tec, 'typedConfig', at(ip, 'typedExtensionConfig'));
      const type = tc ? anyType(tc, at(ip, 'typedExtensionConfig.typedConfig')) : '';
      const kind = POLICY_TYPES[type];
      if (!kind) { unsupported.push(type); return; }
      chosen = true;
      s.kind = kind;
      applyPolicyConfig(s, tc!, at(ip, 'typedExtensionConfig.typedConfig'));
    });
    if (!chosen) throw new ConfigError(at(pp, 'policies'), `no supported load balancing policy (${unsupported.join(', ') || 'empty list'})`);
    return s;
  }
  const legacy = enumOf(c, 'lbPolicy', path, LB_POLICIES, 'ROUND_ROBIN');
  if (legacy === 'CLUSTER_PROVIDED' || legacy === 'LOAD_BALANCING_POLICY_CONFIG') throw new ConfigError(at(path, 'lbPolicy'), `${legacy} is not supported`);
  s.kind = legacy;
  const lr = obj(c, 'leastRequestLbConfig', path);
  if (lr) s.choiceCount = numOr(lr, 'choiceCount', at(path, 'leastRequestLbConfig'), 2);
  const rh = obj(c, 'ringHashLbConfig', path);
  if (rh) { s.ringMin = numOr(rh, 'minimumRingSize', at(path, 'ringHashLbConfig'), 1024); s.ringMax = numOr(rh, 'maximumRingSize', at(path, 'ringHashLbConfig'), s.ringMax); }
  const mg = obj(c, 'maglevLbConfig', path);
  if (mg) s.maglevTableSize = numOr(mg, 'tableSize', at(path, 'maglevLbConfig'), 65537);
  return s;
}

function applyPolicyConfig(s: LbSettings, tc: Json, path: string): void {
  const llc = obj(tc, 'localityLbConfig', path);
  if (llc) {
    if (obj(llc, 'localityWeightedLbConfig', at(path, 'localityLbConfig'))) s.localityWeighted = true;
    // zone aware routing needs a local cluster, which a gateway proxy does not have: hosts are used as if unaware.
  }
  if (obj(tc, 'localityWeightedLbConfig', path)) s.localityWeighted = true;
  if (s.kind === 'LEAST_REQUEST') {
    s.choiceCount = numOr(tc, 'choiceCount', path, 2);
    const bias = obj(tc, 'activeRequestBias', path);
    if (bias) s.activeRequestBias = numOr(bias, 'defaultValue', at(path, 'activeRequestBias'), 1);
  }
  if (s.kind === 'RING_HASH') {
    s.ringMin = numOr(tc, 'minimumRingSize', path, 1024);
    s.ringMax = numOr(tc, 'maximumRingSize', path, s.ringMax);
  }
  if (s.kind === 'MAGLEV') {
    s.maglevTableSize = numOr(tc, 'tableSize', path, 65537);
  }
}

function compileTransportSocket(ts: Json | undefined, path: string, readFile: ReadFile): TransportSocket {
  if (!ts) return { tls: undefined, proxyProtocol: 0 };
  const tc = obj(ts, 'typedConfig', path);
  if (!tc) throw new ConfigError(at(path, 'typedConfig'), `transport socket ${str(ts, 'name', path)} has no typed config`);
  const tp = at(path, 'typedConfig');
  const type = anyType(tc, tp);
  if (type === RAW_BUFFER) return { tls: undefined, proxyProtocol: 0 };
  if (type === UPSTREAM_TLS) return { tls: compileUpstreamTls(tc, tp, readFile), proxyProtocol: 0 };
  if (type === PROXY_PROTOCOL_UPSTREAM) {
    const cfg = obj(tc, 'config', tp) ?? {};
    const v = field(cfg, 'version');
    const inner = compileTransportSocket(obj(tc, 'transportSocket', tp), at(tp, 'transportSocket'), readFile);
    if (inner.proxyProtocol) throw new ConfigError(at(tp, 'transportSocket'), 'PROXY protocol inside PROXY protocol');
    if (list(cfg, 'passThroughTlvs', at(tp, 'config')).length || obj(cfg, 'passThroughTlvs', at(tp, 'config'))) {
      throw new ConfigError(at(tp, 'config.passThroughTlvs'), 'PROXY protocol TLVs are not supported');
    }
    return { tls: inner.tls, proxyProtocol: v === 'V2' || v === 1 ? 2 : 1 };
  }
  throw new ConfigError(tp, `unsupported transport socket ${type}`);
}

function compileUpstreamTls(tc: Json, path: string, readFile: ReadFile): UpstreamTls {
  if (bool(tc, 'allowRenegotiation', path)) { /* Node's TLS client allows renegotiation by default */ }
  return {
    common: compileCommonTls(obj(tc, 'commonTlsContext', path), at(path, 'commonTlsContext'), readFile),
    sni: str(tc, 'sni', path),
    autoHostSni: bool(tc, 'autoHostSni', path),
    autoSniSanValidation: bool(tc, 'autoSniSanValidation', path),
  };
}
