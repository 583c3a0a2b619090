// What a matched route does: forward (RouteAction), redirect, or answer directly. Compiled once
// per RouteConfiguration; the router filter executes it.
import { ConfigError } from '../config/errors.js';
import { anyType, at, bool, bytes, durationMs, enumOf, field, fraction, list, num, numOr, obj, str, type Json } from '../config/json.js';
import { compileHeaderMutation, type HeaderMutation } from '../http/header_mutation.js';
import { compileRegex, type Regex } from './regex.js';

export interface WeightedCluster {
  name: string;
  /** Cumulative upper bound of this cluster's weight range. */
  upTo: number;
  requestHeaders?: HeaderMutation | undefined;
  responseHeaders?: HeaderMutation | undefined;
  hostRewriteLiteral?: string | undefined;
}

export interface RetryPolicy {
  retryOn: RetryOn;
  numRetries: number;
  perTryTimeoutMs: number;
  perTryIdleTimeoutMs: number;
  baseIntervalMs: number;
  maxIntervalMs: number;
  retriableStatusCodes: Set<number>;
  /** previous_hosts predicate: avoid hosts already tried. */
  avoidPreviousHosts: boolean;
  hostSelectionMaxAttempts: number;
}

/** retry_on conditions as flags. */
export const enum RetryOn {
  None = 0,
  FiveXX = 1 << 0,
  GatewayError = 1 << 1,
  Reset = 1 << 2,
  ConnectFailure = 1 << 3,
  Retriable4xx = 1 << 4,
  RefusedStream = 1 << 5,
  RetriableStatusCodes = 1 << 6,
  ResetBeforeRequest = 1 << 7,
  EnvoyRateLimited = 1 << 8,
  GrpcCancelled = 1 << 9,
  GrpcDeadlineExceeded = 1 << 10,
  GrpcInternal = 1 << 11,
  GrpcResourceExhausted = 1 << 12,
  GrpcUnavailable = 1 << 13,
  RetriableHeaders = 1 << 14,
}

const RETRY_ON: Record<string, RetryOn> = {
  '5xx': RetryOn.FiveXX, 'gateway-error': RetryOn.GatewayError, reset: RetryOn.Reset, 'connect-failure': RetryOn.ConnectFailure,
  'retriable-4xx': RetryOn.Retriable4xx, 'refused-stream': RetryOn.RefusedStream, 'retriable-status-codes': RetryOn.RetriableStatusCodes,
  'reset-before-request': RetryOn.ResetBeforeRequest, 'envoy-ratelimited': RetryOn.EnvoyRateLimited, cancelled: RetryOn.GrpcCancelled,
  'deadline-exceeded': RetryOn.GrpcDeadlineExceeded, internal: RetryOn.GrpcInternal, 'resource-exhausted': RetryOn.GrpcResourceExhausted,
  unavailable: RetryOn.GrpcUnavailable, 'retriable-headers': RetryOn.RetriableHeaders, 'http3-post-connect-failure': RetryOn.None,
};

export interface MirrorPolicy {
  cluster: string;
  clusterHeader: string;
  probability: number;
  appendShadowSuffix: boolean;
}

export type HashPolicy =
  | { kind: 'header'; name: string; rewrite?: { re: Regex; substitution: string } | undefined; terminal: boolean }
  | { kind: 'cookie'; name: string; ttlMs: number | undefined; path: string; attributes: [string, string][]; terminal: boolean }
  | { kind: 'sourceIp'; terminal: boolean }
  | { kind: 'query'; name: string; terminal: boolean }
  | { kind: 'filterState'; key: string; terminal: boolean };

export interface UpgradeConfig {
  enabled: boolean;
  /** CONNECT terminated here (connect_config) rather than forwarded. */
  connectTerminate: boolean;
}

export interface ForwardAction {
  kind: 'route';
  cluster: string;
  clusterHeader: string;
  weighted: WeightedCluster[] | undefined;
  totalWeight: number;
  useHashPolicyForWeights: boolean;
  clusterNotFoundStatus: number;
  prefixRewrite: string | undefined;
  regexRewrite: { re: Regex; substitution: string } | undefined;
  hostRewriteLiteral: string | undefined;
  hostRewriteHeader: string | undefined;
  hostRewritePathRegex: { re: Regex; substitution: string } | undefined;
  autoHostRewrite: boolean;
  appendXForwardedHost: boolean;
  /** 0 disables the timeout; Envoy's default is 15 s. */
  timeoutMs: number;
  idleTimeoutMs: number | undefined;
  maxStreamDurationMs: number | undefined;
  retry: RetryPolicy | undefined;
  mirrors: MirrorPolicy[];
  hashPolicies: HashPolicy[];
  upgrades: Map<string, UpgradeConfig>;
}

export interface RedirectAction {
  kind: 'redirect';
  scheme: string | undefined;
  host: string | undefined;
  port: number | undefined;
  path: string | undefined;
  prefixRewrite: string | undefined;
  regexRewrite: { re: Regex; substitution: string } | undefined;
  status: number;
  stripQuery: boolean;
}

export interface DirectResponseAction {
  kind: 'direct';
  status: number;
  body: Buffer | undefined;
}

export type Action = ForwardAction | RedirectAction | DirectResponseAction;

const CLUSTER_NOT_FOUND = ['SERVICE_UNAVAILABLE', 'NOT_FOUND', 'INTERNAL_SERVER_ERROR'] as const;
const NOT_FOUND_STATUS = { SERVICE_UNAVAILABLE: 503, NOT_FOUND: 404, INTERNAL_SERVER_ERROR: 500 };

export function compileForward(a: Json, path: string, readFile: (p: string) => Buffer): ForwardAction {
  const cluster = str(a, 'cluster', path);
  const clusterHeader = str(a, 'clusterHeader', path).toLowerCase();
  let weighted: WeightedCluster[] | undefined;
  let totalWeight = 0;
  let useHashPolicyForWeights = false;
  const wc = obj(a, 'weightedClusters', path);
  if (wc) {
    const wp = at(path, 'weightedClusters');
    weighted = [];
    list(wc, 'clusters', wp).forEach((c: Json, i: number) => {
      const cp = at(at(wp, 'clusters'), i);
      const weight = numOr(c, 'weight', cp, 0);
      totalWeight += weight;
      if (field(c, 'clusterHeader') !== undefined) throw new ConfigError(at(cp, 'clusterHeader'), 'weighted cluster_header is not supported');
      if (field(c, 'typedPerFilterConfig') !== undefined && Object.keys(field(c, 'typedPerFilterConfig')).length) {
        throw new ConfigError(at(cp, 'typedPerFilterConfig'), 'per-filter config on a weighted cluster is not supported');
      }
      weighted!.push({
        name: str(c, 'name', cp),
        upTo: totalWeight,
        requestHeaders: compileHeaderMutation(c, 'requestHeadersToAdd', 'requestHeadersToRemove', cp),
        responseHeaders: compileHeaderMutation(c, 'responseHeadersToAdd', 'responseHeadersToRemove', cp),
        hostRewriteLiteral: field(c, 'hostRewriteLiteral'),
      });
    });
    if (!weighted.length) throw new ConfigError(at(wp, 'clusters'), 'at least one cluster is required');
    const declaredTotal = num(wc, 'totalWeight', wp);
    if (declaredTotal !== undefined && declaredTotal !== totalWeight) throw new ConfigError(at(wp, 'totalWeight'), `sum of weights is ${totalWeight}, not ${declaredTotal}`);
    if (totalWeight === 0) throw new ConfigError(at(wp, 'clusters'), 'the sum of weights must be greater than 0');
    useHashPolicyForWeights = bool(wc, 'useHashPolicy', wp);
  }
  if (!cluster && !clusterHeader && !weighted) {
    if (field(a, 'clusterSpecifierPlugin') !== undefined || field(a, 'inlineClusterSpecifierPlugin') !== undefined) {
      throw new ConfigError(at(path, 'clusterSpecifierPlugin'), 'cluster specifier plugins are not supported');
    }
    throw new ConfigError(path, 'one of cluster, cluster_header or weighted_clusters is required');
  }
  const rr = obj(a, 'regexRewrite', path);
  const hrp = obj(a, 'hostRewritePathRegex', path);
  const timeoutMs = durationMs(a, 'timeout', path);
  const maxStream = obj(a, 'maxStreamDuration', path);
  const upgrades = new Map<string, UpgradeConfig>();
  list(a, 'upgradeConfigs', path).forEach((u: Json, i: number) => {
    const up = at(at(path, 'upgradeConfigs'), i);
    upgrades.set(str(u, 'upgradeType', up).toLowerCase(), { enabled: bool(u, 'enabled', up, true), connectTerminate: obj(u, 'connectConfig', up) !== undefined });
  });
  if (field(a, 'pathRewritePolicy') !== undefined) throw new ConfigError(at(path, 'pathRewritePolicy'), 'path rewrite policies (URI templates) are not supported');
  if (field(a, 'internalRedirectPolicy') !== undefined || field(a, 'internalRedirectAction') !== undefined) {
    throw new ConfigError(at(path, 'internalRedirectPolicy'), 'internal redirects are not supported');
  }
  void readFile;
  return {
    kind: 'route',
    cluster,
    clusterHeader,
    weighted,
    totalWeight,
    useHashPolicyForWeights,
    clusterNotFoundStatus: NOT_FOUND_STATUS[enumOf(a, 'clusterNotFoundResponseCode', path, CLUSTER_NOT_FOUND, 'SERVICE_UNAVAILABLE')],
    prefixRewrite: field(a, 'prefixRewrite'),
    regexRewrite: rr ? compileRewrite(rr, at(path, 'regexRewrite')) : undefined,
    hostRewriteLiteral: field(a, 'hostRewriteLiteral'),
    hostRewriteHeader: field(a, 'hostRewriteHeader')?.toLowerCase(),
    hostRewritePathRegex: hrp ? compileRewrite(hrp, at(path, 'hostRewritePathRegex')) : undefined,
    autoHostRewrite: bool(a, 'autoHostRewrite', path),
    appendXForwardedHost: bool(a, 'appendXForwardedHost', path),
    timeoutMs: timeoutMs ?? 15000,
    idleTimeoutMs: durationMs(a, 'idleTimeout', path),
    maxStreamDurationMs: maxStream ? durationMs(maxStream, 'maxStreamDuration', at(path, 'maxStreamDuration')) : undefined,
    retry: compileRetry(obj(a, 'retryPolicy', path), at(path, 'retryPolicy')),
    mirrors: list(a, 'requestMirrorPolicies', path).map((m: Json, i: number) => compileMirror(m, at(at(path, 'requestMirrorPolicies'), i))),
    hashPolicies: list(a, 'hashPolicy', path).map((h: Json, i: number) => compileHash(h, at(at(path, 'hashPolicy'), i))),
    upgrades,
  };
}

export function compileRewrite(rr: Json, path: string): { re: Regex; substitution: string } {
  const pattern = obj(rr, 'pattern', path);
  if (!pattern) throw new ConfigError(at(path, 'pattern'), 'required');
  return { re: compileRegex(str(pattern, 'regex', at(path, 'pattern')), at(path, 'pattern.regex')), substitution: str(rr, 'substitution', path) };
}

export function compileRetry(r: Json | undefined, path: string): RetryPolicy | undefined {
  if (!r) return undefined;
  let retryOn = RetryOn.None;
  for (const cond of str(r, 'retryOn', path).split(',')) {
    const c = cond.trim();
    if (!c) continue;
    const flag = RETRY_ON[c];
    if (flag === undefined) throw new ConfigError(at(path, 'retryOn'), `unknown retry condition ${JSON.stringify(c)}`);
    retryOn |= flag;
  }
  const backOff = obj(r, 'retryBackOff', path);
  const base = backOff ? durationMs(backOff, 'baseInterval', at(path, 'retryBackOff')) ?? 25 : 25;
  const max = backOff ? durationMs(backOff, 'maxInterval', at(path, 'retryBackOff')) ?? base * 10 : base * 10;
  if (max < base) throw new ConfigError(at(path, 'retryBackOff.maxInterval'), 'must be at least baseInterval');
  let avoidPreviousHosts = false;
  list(r, 'retryHostPredicate', path).forEach((p: Json, i: number) => {
    const pp = at(at(path, 'retryHostPredicate'), i);
    const tc = obj(p, 'typedConfig', pp);
    const type = tc ? anyType(tc, at(pp, 'typedConfig')) : '';
    if (type === 'envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate' || (!tc && str(p, 'name', pp) === 'envoy.retry_host_predicates.previous_hosts')) avoidPreviousHosts = true;
    else throw new ConfigError(at(pp, 'typedConfig'), `unsupported retry host predicate ${type || str(p, 'name', pp)}`);
  });
  if (field(r, 'retryPriority') !== undefined) throw new ConfigError(at(path, 'retryPriority'), 'retry priorities are not supported');
  const codes = new Set<number>();
  list(r, 'retriableStatusCodes', path).forEach((c: unknown) => codes.add(Number(c)));
  return {
    retryOn,
    numRetries: numOr(r, 'numRetries', path, 1),
    perTryTimeoutMs: durationMs(r, 'perTryTimeout', path) ?? 0,
    perTryIdleTimeoutMs: durationMs(r, 'perTryIdleTimeout', path) ?? 0,
    baseIntervalMs: base,
    maxIntervalMs: max,
    retriableStatusCodes: codes,
    avoidPreviousHosts,
    hostSelectionMaxAttempts: numOr(r, 'hostSelectionRetryMaxAttempts', path, 1),
  };
}

function compileMirror(m: Json, path: string): MirrorPolicy {
  const cluster = str(m, 'cluster', path);
  const clusterHeader = str(m, 'clusterHeader', path).toLowerCase();
  if (!cluster && !clusterHeader) throw new ConfigError(path, 'cluster or cluster_header is required');
  const rf = obj(m, 'runtimeFraction', path);
  return { cluster, clusterHeader, probability: rf ? fraction(rf, at(path, 'runtimeFraction')) : 1, appendShadowSuffix: !bool(m, 'disableShadowHostSuffixAppend', path) };
}

function compileHash(h: Json, path: string): HashPolicy {
  const terminal = bool(h, 'terminal', path);
  const header = obj(h, 'header', path);
  if (header) {
    const hp = at(path, 'header');
    const rr = obj(header, 'regexRewrite', hp);
    return { kind: 'header', name: str(header, 'headerName', hp).toLowerCase(), rewrite: rr ? compileRewrite(rr, at(hp, 'regexRewrite')) : undefined, terminal };
  }
  const cookie = obj(h, 'cookie', path);
  if (cookie) {
    const cp = at(path, 'cookie');
    const attributes = list(cookie, 'attributes', cp).map((a: Json, i: number) => [str(a, 'name', at(at(cp, 'attributes'), i)), str(a, 'value', at(at(cp, 'attributes'), i))] as [string, string]);
    return { kind: 'cookie', name: str(cookie, 'name', cp), ttlMs: durationMs(cookie, 'ttl', cp), path: str(cookie, 'path', cp), attributes, terminal };
  }
  const cp = obj(h, 'connectionProperties', path);
  if (cp) {
    if (!bool(cp, 'sourceIp', at(path, 'connectionProperties'))) throw new ConfigError(at(path, 'connectionProperties.sourceIp'), 'must be true');
    return { kind: 'sourceIp', terminal };
  }
  const qp = obj(h, 'queryParameter', path);
  if (qp) return { kind: 'query', name: str(qp, 'name', at(path, 'queryParameter')), terminal };
  const fs = obj(h, 'filterState', path);
  if (fs) return { kind: 'filterState', key: str(fs, 'key', at(path, 'filterState')), terminal };
  throw new ConfigError(path, 'a hash policy needs one of header, cookie, connectionProperties, queryParameter or filterState');
}

const REDIRECT_CODES = ['MOVED_PERMANENTLY', 'FOUND', 'SEE_OTHER', 'TEMPORARY_REDIRECT', 'PERMANENT_REDIRECT'] as const;
const REDIRECT_STATUS = { MOVED_PERMANENTLY: 301, FOUND: 302, SEE_OTHER: 303, TEMPORARY_REDIRECT: 307, PERMANENT_REDIRECT: 308 };

export function compileRedirect(r: Json, path: string): RedirectAction {
  const rr = obj(r, 'regexRewrite', path);
  let scheme: string | undefined = field(r, 'schemeRedirect');
  if (bool(r, 'httpsRedirect', path)) scheme = 'https';
  const port = num(r, 'portRedirect', path);
  return {
    kind: 'redirect',
    scheme: scheme?.toLowerCase(),
    host: field(r, 'hostRedirect') || undefined,
    port: port || undefined,
    path: field(r, 'pathRedirect'),
    prefixRewrite: field(r, 'prefixRewrite'),
    regexRewrite: rr ? compileRewrite(rr, at(path, 'regexRewrite')) : undefined,
    status: REDIRECT_STATUS[enumOf(r, 'responseCode', path, REDIRECT_CODES, 'MOVED_PERMANENTLY')],
    stripQuery: bool(r, 'stripQuery', path),
  };
}

export function compileDirect(d: Json, path: string, readFile: (p: string) => Buffer, maxBody: number): DirectResponseAction {
  const status = numOr(d, 'status', path, 0);
  if (status < 200 || status >= 600) throw new ConfigError(at(path, 'status'), 'must be in [200, 600)');
  let body: Buffer | undefined;
  const b = obj(d, 'body', path);
  if (b) body = dataSourceBody(b, at(path, 'body'), readFile);
  const bf = obj(d, 'bodyFormat', path);
  if (bf) {
    const bp = at(path, 'bodyFormat');
    const tfs = obj(bf, 'textFormatSource', bp);
    const tf = field(bf, 'textFormat');
    if (tfs) body = dataSourceBody(tfs, at(bp, 'textFormatSource'), readFile);
    else if (typeof tf === 'string') body = Buffer.from(tf);
    else if (field(bf, 'jsonFormat') !== undefined) throw new ConfigError(at(bp, 'jsonFormat'), 'JSON body formats are not supported for direct responses');
  }
  if (body && body.length > maxBody) throw new ConfigError(at(path, 'body'), `body is ${body.length} bytes, more than the ${maxBody} allowed`);
  return { kind: 'direct', status, body };
}

function dataSourceBody(ds: Json, path: string, readFile: (p: string) => Buffer): Buffer {
  const ib = bytes(ds, 'inlineBytes', path);
  if (ib) return ib;
  const is = field(ds, 'inlineString');
  if (typeof is === 'string') return Buffer.from(is);
  const fn = field(ds, 'filename');
  if (typeof fn === 'string') {
    try { return readFile(fn); } catch (err) { throw new ConfigError(at(path, 'filename'), `cannot read ${fn}: ${(err as Error).message}`); }
  }
  return Buffer.alloc(0);
}
