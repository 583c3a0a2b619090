// envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager, compiled.
// Holds what the codecs and the per-request pipeline need; route tables come from RDS (by name,
// through a RouteConfigProvider that updates in place) or inline.
import { ConfigError } from '../config/errors.js';
import { anyType, at, bool, durationMs, enumOf, field, list, num, numOr, obj, str, type Json } from '../config/json.js';
import { compileRouteConfiguration, type RouteTable } from '../router/route_table.js';
import type { HttpFilter, FilterFactoryContext } from './filter.js';
import { httpFilterFactory } from './filter_registry.js';
import { compileAccessLogs, type AccessLogger } from './access_log.js';
import { httpStats, type HttpStats } from '../stats.js';

/** The route table an HCM uses; RDS updates replace `table` without touching listeners. */
export interface RouteConfigProvider {
  readonly name: string;
  table: RouteTable | undefined;
}

export type HeadersWithUnderscores = 'ALLOW' | 'REJECT_REQUEST' | 'DROP_HEADER';
export type EscapedSlashes = 'IMPLEMENTATION_SPECIFIC_DEFAULT' | 'KEEP_UNCHANGED' | 'REJECT_REQUEST' | 'UNESCAPE_AND_REDIRECT' | 'UNESCAPE_AND_FORWARD';

export interface HcmConfig {
  statPrefix: string;
  codecType: 'AUTO' | 'HTTP1' | 'HTTP2';
  routes: RouteConfigProvider;
  filters: HttpFilter[];
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  skipXffAppend: boolean;
  generateRequestId: boolean;
  preserveExternalRequestId: boolean;
  alwaysSetRequestIdInResponse: boolean;
  serverName: string;
  serverHeaderTransformation: 'OVERWRITE' | 'APPEND_IF_ABSENT' | 'PASS_THROUGH';
  normalizePath: boolean;
  mergeSlashes: boolean;
  escapedSlashes: EscapedSlashes;
  stripTrailingHostDot: boolean;
  headersWithUnderscores: HeadersWithUnderscores;
  maxHeadersCount: number;
  maxRequestHeadersBytes: number;
  /** Connection idle timeout (no active streams); 0 disables. Envoy's default is 1 h. */
  idleTimeoutMs: number;
  maxConnectionDurationMs: number;
  maxRequestsPerConnection: number;
  maxStreamDurationMs: number;
  /** Time allowed to receive the whole request; 0 disables (Envoy's default). */
  requestTimeoutMs: number;
  requestHeadersTimeoutMs: number;
  /** Per-stream idle timeout; Envoy's default is 5 min. */
  streamIdleTimeoutMs: number;
  drainTimeoutMs: number;
  acceptHttp10: boolean;
  defaultHostForHttp10: string;
  enableTrailers: boolean;
  preserveHeaderCase: boolean;
  ignoreHttp11UpgradePrefixes: string[];
  http2: { maxConcurrentStreams: number; initialStreamWindowSize: number; initialConnectionWindowSize: number };
  /** HCM-level upgrade configs (route-level ones take precedence). */
  upgrades: Map<string, boolean>;
  forwardClientCertDetails: 'SANITIZE' | 'FORWARD_ONLY' | 'APPEND_FORWARD' | 'SANITIZE_SET' | 'ALWAYS_FORWARD_ONLY';
  /** Which client certificate details go into x-forwarded-client-cert (Hash always does). */
  clientCertDetails: { subject: boolean; cert: boolean; chain: boolean; dns: boolean; uri: boolean };
  accessLogs: AccessLogger[];
  stats: HttpStats;
  /** The router filter's own settings. */
  router: { suppressEnvoyHeaders: boolean };
}

export interface HcmCompileContext extends FilterFactoryContext {
  /** The provider for an RDS route configuration name (created on first use). */
  routeProvider(name: string): RouteConfigProvider;
}

const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';
const UUID_REQUEST_ID = 'envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig';
const PRESERVE_CASE = 'envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig';

export function compileHcm(c: Json, path: string, ctx: HcmCompileContext): HcmConfig {
  let routes: RouteConfigProvider;
  const rds = obj(c, 'rds', path);
  const inline = obj(c, 'routeConfig', path);
  if (rds) {
    const name = str(rds, 'routeConfigName', at(path, 'rds'));
    if (!name) throw new ConfigError(at(path, 'rds.routeConfigName'), 'required');
    routes = ctx.routeProvider(name);
  } else if (inline) {
    routes = { name: str(inline, 'name', at(path, 'routeConfig')), table: compileRouteConfiguration(inline, ctx, at(path, 'routeConfig')) };
  } else if (field(c, 'scopedRoutes') !== undefined) {
    throw new ConfigError(at(path, 'scopedRoutes'), 'scoped routes are not supported');
  } else throw new ConfigError(path, 'one of rds or routeConfig is required');

  const filters: HttpFilter[] = [];
  const router = { suppressEnvoyHeaders: false };
  const fl = list(c, 'httpFilters', path);
  fl.forEach((f: Json, i: number) => {
    const fp = at(at(path, 'httpFilters'), i);
    const name = str(f, 'name', fp);
    const tc = obj(f, 'typedConfig', fp);
    if (!tc) throw new ConfigError(at(fp, 'typedConfig'), `filter ${name} has no typed config`);
    const type = anyType(tc, at(fp, 'typedConfig'));
    if (type === ROUTER) {
      if (i !== fl.length - 1) throw new ConfigError(fp, 'the router filter must be the last HTTP filter');
      const rp = at(fp, 'typedConfig');
      router.suppressEnvoyHeaders = bool(tc, 'suppressEnvoyHeaders', rp);
      for (const unsupported of ['upstreamHttpFilters', 'strictCheckHeaders']) {
        const v = field(tc, unsupported);
        if (v !== undefined && (!Array.isArray(v) || v.length)) throw new ConfigError(at(rp, unsupported), 'not supported by this proxy');
      }
      return;
    }
    if (i === fl.length - 1) throw new ConfigError(fp, `the last HTTP filter must be the router (envoy.filters.http.router), not ${name}`);
    const factory = httpFilterFactory(type);
    if (!factory) throw new ConfigError(at(fp, 'typedConfig'), `unsupported HTTP filter ${name} (${type})`);
    const filter = factory.create(name, tc, at(fp, 'typedConfig'), ctx);
    // A filter disabled by default runs only on routes whose per-filter config enables it.
    if (bool(f, 'disabled', fp)) (filter as { disabledByDefault?: boolean }).disabledByDefault = true;
    filters.push(filter);
  });
  if (!fl.length) throw new ConfigError(at(path, 'httpFilters'), 'the router filter is required');

  const common = obj(c, 'commonHttpProtocolOptions', path) ?? {};
  const cp = at(path, 'commonHttpProtocolOptions');
  const h1 = obj(c, 'httpProtocolOptions', path) ?? {};
  const h1p = at(path, 'httpProtocolOptions');
  let preserveHeaderCase = false;
  const hkf = obj(h1, 'headerKeyFormat', h1p);
  if (hkf) {
    const sf = obj(hkf, 'statefulFormatter', at(h1p, 'headerKeyFormat'));
    const tc = sf && obj(sf, 'typedConfig', at(h1p, 'headerKeyFormat.statefulFormatter'));
    if (tc && anyType(tc, at(h1p, 'headerKeyFormat.statefulFormatter.typedConfig')) === PRESERVE_CASE) preserveHeaderCase = true;
    else if (obj(hkf, 'properCaseWords', at(h1p, 'headerKeyFormat'))) preserveHeaderCase = false;
    else throw new ConfigError(at(h1p, 'headerKeyFormat'), 'unsupported header key format');
  }
  const h2 = obj(c, 'http2ProtocolOptions', path) ?? {};
  const h2p = at(path, 'http2ProtocolOptions');
  const rid = obj(c, 'requestIdExtension', path);
  if (rid) {
    const tc = obj(rid, 'typedConfig', at(path, 'requestIdExtension'));
    if (tc && anyType(tc, at(path, 'requestIdExtension.typedConfig')) !== UUID_REQUEST_ID) {
      throw new ConfigError(at(path, 'requestIdExtension.typedConfig'), `unsupported request ID extension ${anyType(tc, '')}`);
    }
  }
  for (const unsupported of ['localReplyConfig', 'originalIpDetectionExtensions', 'earlyHeaderMutationExtensions', 'tracing', 'internalAddressConfig', 'http3ProtocolOptions']) {
    const v = field(c, unsupported);
    if (v === undefined || v === null || (Array.isArray(v) && !v.length)) continue;
    if (unsupported === 'http3ProtocolOptions') continue; // only used by QUIC listeners, which are rejected at the listener
    throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  const upgrades = new Map<string, boolean>();
  list(c, 'upgradeConfigs', path).forEach((u: Json, i: number) => {
    const up = at(at(path, 'upgradeConfigs'), i);
    upgrades.set(str(u, 'upgradeType', up).toLowerCase(), bool(u, 'enabled', up, true));
  });
  return {
    statPrefix: str(c, 'statPrefix', path),
    codecType: enumOf(c, 'codecType', path, ['AUTO', 'HTTP1', 'HTTP2', 'HTTP3'] as const, 'AUTO') === 'HTTP3'
      ? (() => { throw new ConfigError(at(path, 'codecType'), 'HTTP/3 is not supported'); })()
      : (enumOf(c, 'codecType', path, ['AUTO', 'HTTP1', 'HTTP2', 'HTTP3'] as const, 'AUTO') as 'AUTO' | 'HTTP1' | 'HTTP2'),
    routes,
    filters,
    useRemoteAddress: bool(c, 'useRemoteAddress', path),
    xffNumTrustedHops: numOr(c, 'xffNumTrustedHops', path, 0),
    skipXffAppend: bool(c, 'skipXffAppend', path),
    generateRequestId: bool(c, 'generateRequestId', path, true),
    preserveExternalRequestId: bool(c, 'preserveExternalRequestId', path),
    alwaysSetRequestIdInResponse: bool(c, 'alwaysSetRequestIdInResponse', path),
    serverName: str(c, 'serverName', path, 'envoy'),
    serverHeaderTransformation: enumOf(c, 'serverHeaderTransformation', path, ['OVERWRITE', 'APPEND_IF_ABSENT', 'PASS_THROUGH'] as const, 'OVERWRITE'),
    normalizePath: bool(c, 'normalizePath', path),
    mergeSlashes: bool(c, 'mergeSlashes', path),
    escapedSlashes: enumOf(c, 'pathWithEscapedSlashesAction', path,
      ['IMPLEMENTATION_SPECIFIC_DEFAULT', 'KEEP_UNCHANGED', 'REJECT_REQUEST', 'UNESCAPE_AND_REDIRECT', 'UNESCAPE_AND_FORWARD'] as const, 'IMPLEMENTATION_SPECIFIC_DEFAULT'),
    stripTrailingHostDot: bool(c, 'stripTrailingHostDot', path),
    headersWithUnderscores: enumOf(common, 'headersWithUnderscoresAction', cp, ['ALLOW', 'REJECT_REQUEST', 'DROP_HEADER'] as const, 'ALLOW'),
    maxHeadersCount: numOr(common, 'maxHeadersCount', cp, 100),
    maxRequestHeadersBytes: numOr(c, 'maxRequestHeadersKb', path, 60) * 1024,
    idleTimeoutMs: durationMs(common, 'idleTimeout', cp) ?? 3600_000,
    maxConnectionDurationMs: durationMs(common, 'maxConnectionDuration', cp) ?? 0,
    maxRequestsPerConnection: numOr(common, 'maxRequestsPerConnection', cp, 0),
    maxStreamDurationMs: durationMs(common, 'maxStreamDuration', cp) ?? 0,
    requestTimeoutMs: durationMs(c, 'requestTimeout', path) ?? 0,
    requestHeadersTimeoutMs: durationMs(c, 'requestHeadersTimeout', path) ?? 0,
    streamIdleTimeoutMs: durationMs(c, 'streamIdleTimeout', path) ?? 300_000,
    drainTimeoutMs: durationMs(c, 'drainTimeout', path) ?? 5000,
    acceptHttp10: bool(h1, 'acceptHttp10', h1p),
    defaultHostForHttp10: str(h1, 'defaultHostForHttp10', h1p),
    enableTrailers: bool(h1, 'enableTrailers', h1p),
    preserveHeaderCase,
    ignoreHttp11UpgradePrefixes: list(h1, 'ignoreHttp11Upgrade', h1p).map((m: Json) => String(field(m, 'prefix') ?? field(m, 'exact') ?? '').toLowerCase()),
    http2: {
      maxConcurrentStreams: numOr(h2, 'maxConcurrentStreams', h2p, 2147483647),
      initialStreamWindowSize: numOr(h2, 'initialStreamWindowSize', h2p, 268435456),
      initialConnectionWindowSize: numOr(h2, 'initialConnectionWindowSize', h2p, 268435456),
    },
    upgrades,
    forwardClientCertDetails: enumOf(c, 'forwardClientCertDetails', path,
      ['SANITIZE', 'FORWARD_ONLY', 'APPEND_FORWARD', 'SANITIZE_SET', 'ALWAYS_FORWARD_ONLY'] as const, 'SANITIZE'),
    clientCertDetails: (() => {
      const d = obj(c, 'setCurrentClientCertDetails', path) ?? {};
      const dp = at(path, 'setCurrentClientCertDetails');
      return { subject: bool(d, 'subject', dp), cert: bool(d, 'cert', dp), chain: bool(d, 'chain', dp), dns: bool(d, 'dns', dp), uri: bool(d, 'uri', dp) };
    })(),
    accessLogs: compileAccessLogs(list(c, 'accessLog', path), at(path, 'accessLog'), ctx),
    stats: httpStats(str(c, 'statPrefix', path)),
    router,
  };
  void num;
}
