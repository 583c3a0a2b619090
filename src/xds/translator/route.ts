// Routes: one Envoy route per IR HTTP route, in IR order (which is Gateway API precedence): the
// match (path, headers, query parameters, cookies), then exactly one action (redirect, direct
// response, or forwarding with rewrites, mirrors, timeouts, retries and hash policies), and the
// header mutations that apply whatever the action.
import type { AddHeader, HTTPListener, HTTPRoute, RouteDestination, StringMatch } from '../../ir/xds.js';
import { buildResourceMetadata } from './metadata.js';
import { compact, parseGoDuration, protoDuration, nanosToProto, type Msg } from './util.js';
import { buildCustomTags, fraction } from './tracing.js';
import { buildHashPolicies, buildRetryPolicy } from './route-policy.js';

/** Envoy's default limit for direct response bodies; bigger ones raise the route config's limit. */
export const defaultMaxDirectResponseBody = 4096;
const oneHourNanos = 3600e9;

export function buildStringMatcher(m: StringMatch): Msg {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.suffix !== undefined) return { suffix: m.suffix };
  if (m.safeRegex !== undefined) return { safeRegex: { regex: m.safeRegex } };
  if (m.contains !== undefined) return { contains: m.contains };
  return {};
}

function headerMatcher(m: StringMatch): Msg {
  const h: Msg = { name: m.name ?? '' };
  if (m.exact === undefined && m.prefix === undefined && m.suffix === undefined && m.safeRegex === undefined && m.contains === undefined) {
    h.presentMatch = true;
  } else {
    h.stringMatch = buildStringMatcher(m);
  }
  if (m.invert) h.invertMatch = true;
  return h;
}

export function buildRouteMatch(r: HTTPRoute): Msg {
  const match: Msg = {};
  const pm = r.pathMatch;
  if (pm?.exact !== undefined) match.path = pm.exact;
  else if (pm?.safeRegex !== undefined) match.safeRegex = { regex: pm.safeRegex };
  else if (pm?.prefix !== undefined && pm.prefix !== '/') {
    // Gateway API prefixes match whole path segments: "/foo" matches "/foo" and "/foo/bar", not "/foobar".
    match.pathSeparatedPrefix = pm.prefix.endsWith('/') ? pm.prefix.replace(/\/+$/, '') || '/' : pm.prefix;
    if (match.pathSeparatedPrefix === '/') {
      delete match.pathSeparatedPrefix;
      match.prefix = '/';
    }
  } else match.prefix = '/';
  if (r.headerMatches?.length) match.headers = r.headerMatches.map(headerMatcher);
  if (r.queryParamMatches?.length) {
    match.queryParameters = r.queryParamMatches.map((q) => {
      const qm: Msg = { name: q.name ?? '' };
      if (q.exact === undefined && q.prefix === undefined && q.suffix === undefined && q.safeRegex === undefined) qm.presentMatch = true;
      else qm.stringMatch = buildStringMatcher(q);
      return qm;
    });
  }
  if (r.cookieMatches?.length) {
    match.cookies = r.cookieMatches.map((c) => {
      const cm: Msg = { name: c.name ?? '', stringMatch: buildStringMatcher(c) };
      if (c.invert) cm.invertMatch = true;
      return cm;
    });
  }
  if (r.traffic?.httpUpgrade?.some((u) => u.type.toUpperCase() === 'CONNECT')) {
    // CONNECT requests have no path: match them by method instead.
    delete match.prefix;
    delete match.path;
    delete match.pathSeparatedPrefix;
    delete match.safeRegex;
    match.connectMatcher = {};
  }
  return match;
}

/** Header additions: append adds a value, otherwise the header is overwritten (or added if absent). */
export function buildHeadersToAdd(headers: AddHeader[] | undefined): Msg[] | undefined {
  if (!headers?.length) return undefined;
  const out: Msg[] = [];
  for (const h of headers) {
    const values = h.value?.length ? h.value : [''];
    for (const v of values) {
      const o: Msg = { header: v === '' ? { key: h.name } : { key: h.name, value: v } };
      if (h.addIfAbsent) o.appendAction = 'ADD_IF_ABSENT';
      else if (!h.append) o.appendAction = 'OVERWRITE_IF_EXISTS_OR_ADD';
      if (v === '') o.keepEmptyValue = true;
      out.push(o);
    }
  }
  return out;
}

/** Go's regexp.QuoteMeta. */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

const redirectCodes: Record<number, string> = {
  301: 'MOVED_PERMANENTLY', 302: 'FOUND', 303: 'SEE_OTHER', 307: 'TEMPORARY_REDIRECT', 308: 'PERMANENT_REDIRECT',
};

function buildRedirect(r: HTTPRoute): Msg {
  const rd = r.redirect!;
  const out: Msg = {};
  if (rd.scheme) out.schemeRedirect = rd.scheme;
  if (rd.hostname) out.hostRedirect = rd.hostname;
  if (rd.port) {
    const scheme = rd.scheme?.toLowerCase();
    const isDefault = (scheme === 'https' && rd.port === 443) || (scheme === 'http' && rd.port === 80);
    if (!isDefault) out.portRedirect = rd.port;
  }
  const p = rd.path;
  if (p?.fullReplace !== undefined && p.fullReplace !== null) out.pathRedirect = p.fullReplace;
  else if (p?.prefixMatchReplace !== undefined && p.prefixMatchReplace !== null) {
    Object.assign(out, prefixRewrite(r, p.prefixMatchReplace));
  }
  if (rd.statusCode && redirectCodes[rd.statusCode] && rd.statusCode !== 301) out.responseCode = redirectCodes[rd.statusCode];
  return out;
}

/** A prefix replacement: a plain prefix_rewrite, or a regex when the prefix is replaced by "/". */
function prefixRewrite(r: HTTPRoute, replace: string): Msg {
  const prefix = r.pathMatch?.prefix ?? '/';
  if (replace === '/') {
    // Replacing "/foo" by "/" must not leave "//bar": eat the slashes after the prefix too.
    return { regexRewrite: { pattern: { regex: `^${quoteMeta(prefix)}\\/*` }, substitution: '/' } };
  }
  return { prefixRewrite: prefix.endsWith('/') ? replace.replace(/\/+$/, '') : replace };
}

function buildDirectResponse(r: HTTPRoute): Msg {
  const d: Msg = { status: r.directResponse!.statusCode };
  if (r.directResponse!.body) d.bodyFormat = { textFormatSource: { inlineBytes: r.directResponse!.body } };
  return d;
}

/** Weights of a destination's settings: valid ones, and those that cannot be served. */
export function backendWeights(dest: RouteDestination): { invalid: number; empty: number } {
  let invalid = 0;
  let empty = 0;
  for (const s of dest.settings ?? []) {
    if (s.invalid) invalid += s.weight ?? 1;
    else if (!s.endpoints?.length && !s.isDynamicResolver) empty += s.weight ?? 1;
  }
  return { invalid, empty };
}

export interface RouteOptions {
  listener: HTTPListener;
  /** The destination needs one cluster per setting (see needsClusterPerSetting). */
  clusterPerSetting: boolean;
}

function buildRouteAction(r: HTTPRoute, opts: RouteOptions): Msg {
  const dest = r.destination!;
  const a: Msg = {};
  const weights = backendWeights(dest);
  const refs = dest.backendClusterRefs ?? [];
  if (!dest.settings?.length && refs.length === 1) {
    a.cluster = refs[0]!.name;
  } else if (opts.clusterPerSetting || weights.invalid + weights.empty > 0 || refs.length) {
    const clusters: Msg[] = [];
    if (weights.invalid + weights.empty > 0) clusters.push({ name: 'invalid-backend-cluster', weight: weights.invalid + weights.empty });
    for (const s of dest.settings ?? []) {
      if (s.invalid || (!s.endpoints?.length && !s.isDynamicResolver)) continue;
      const c: Msg = { name: opts.clusterPerSetting ? s.name : dest.name, weight: s.weight ?? 1 };
      const f = s.filters;
      const add = buildHeadersToAdd(f?.addRequestHeaders);
      if (add) c.requestHeadersToAdd = add;
      if (f?.removeRequestHeaders?.length) c.requestHeadersToRemove = [...f.removeRequestHeaders];
      const addResp = buildHeadersToAdd(f?.addResponseHeaders);
      if (addResp) c.responseHeadersToAdd = addResp;
      if (f?.removeResponseHeaders?.length) c.responseHeadersToRemove = [...f.removeResponseHeaders];
      if (f?.urlRewrite?.host?.name) c.hostRewriteLiteral = f.urlRewrite.host.name;
      clusters.push(c);
    }
    for (const ref of refs) clusters.push({ name: ref.name, weight: ref.weight ?? 1 });
    if (weights.empty === 0) a.clusterNotFoundResponseCode = 'INTERNAL_SERVER_ERROR';
    a.weightedClusters = { clusters };
  } else {
    a.cluster = dest.name;
  }
  return a;
}

/** The route action's timeouts: the rule timeout wins over the policy's request timeout. */
function applyTimeouts(a: Msg, r: HTTPRoute, l: HTTPListener): void {
  const http = r.traffic?.timeout?.http;
  const request = r.timeout ?? http?.requestTimeout;
  const ns = parseGoDuration(request);
  if (ns !== undefined) {
    a.timeout = nanosToProto(ns);
    if (http?.streamIdleTimeout) {
      a.idleTimeout = protoDuration(http.streamIdleTimeout);
    } else if (!l.timeout?.http?.streamIdleTimeout) {
      // A long (or disabled) request timeout must not be cut short by Envoy's 1h stream idle timeout.
      a.idleTimeout = nanosToProto(ns === 0 || ns > oneHourNanos ? ns : oneHourNanos);
    }
  } else if (http?.streamIdleTimeout) {
    a.idleTimeout = protoDuration(http.streamIdleTimeout);
  }
  if (http?.maxStreamDuration) a.maxStreamDuration = { maxStreamDuration: protoDuration(http.maxStreamDuration) };
}

function applyRewrites(a: Msg, r: HTTPRoute): void {
  const u = r.urlRewrite;
  if (!u) return;
  const p = u.path;
  if (p?.fullReplace !== undefined && p.fullReplace !== null) {
    a.regexRewrite = { pattern: { regex: '^/.*$' }, substitution: p.fullReplace };
  } else if (p?.prefixMatchReplace !== undefined && p.prefixMatchReplace !== null) {
    Object.assign(a, prefixRewrite(r, p.prefixMatchReplace));
  } else if (p?.regexMatchReplace) {
    a.regexRewrite = { pattern: { regex: p.regexMatchReplace.pattern }, substitution: p.regexMatchReplace.substitution };
  }
  const h = u.host;
  if (h) {
    let rewritten = true;
    if (h.name) a.hostRewriteLiteral = h.name;
    else if (h.header) a.hostRewriteHeader = h.header;
    else if (h.backend) a.autoHostRewrite = true;
    else if (h.pathRegex) a.hostRewritePathRegex = { pattern: { regex: h.pathRegex.pattern }, substitution: h.pathRegex.substitution };
    else rewritten = false;
    if (rewritten && u.appendXForwardedHost !== false) a.appendXForwardedHost = true;
  }
}

function applyMirrors(a: Msg, r: HTTPRoute): void {
  if (!r.mirrors?.length) return;
  a.requestMirrorPolicies = r.mirrors.map((m) => {
    const p: Msg = { cluster: m.destination.name };
    p.runtimeFraction = {
      defaultValue: m.percentage === undefined
        ? { numerator: 100 }
        : { numerator: Math.round(m.percentage * 10000), denominator: 'MILLION' },
    };
    p.disableShadowHostSuffixAppend = true;
    return p;
  });
}

function applyUpgrades(a: Msg, r: HTTPRoute): void {
  const ups = r.traffic?.httpUpgrade;
  // gRPC routes never upgrade, and a buffered request body cannot become a tunnel.
  if (!ups && (r.isHTTP2 || r.traffic?.requestBuffer)) return;
  if (!ups) {
    a.upgradeConfigs = [{ upgradeType: 'websocket' }];
    return;
  }
  const list = ups.map((u) => {
    const c: Msg = { upgradeType: u.type };
    if (u.type.toUpperCase() === 'CONNECT' && u.connect?.terminate) c.connectConfig = {};
    return c;
  });
  if (list.length) a.upgradeConfigs = list;
}

/** The Envoy route for one IR HTTP route. */
export function buildRoute(r: HTTPRoute, opts: RouteOptions): Msg {
  const route: Msg = { name: r.name, match: buildRouteMatch(r) };
  if (r.redirect) {
    route.redirect = buildRedirect(r);
  } else if (r.directResponse) {
    route.directResponse = buildDirectResponse(r);
  } else if (r.destination) {
    const a = buildRouteAction(r, opts);
    applyRewrites(a, r);
    applyTimeouts(a, r, opts.listener);
    applyMirrors(a, r);
    const hash = buildHashPolicies(r.traffic?.loadBalancer);
    if (hash) {
      a.hashPolicy = hash;
      if (a.weightedClusters) a.weightedClusters.useHashPolicy = true;
    }
    // An HTTPRoute rule's own retry (GEP-1731) wins over a BackendTrafficPolicy's.
    const retry = buildRetryPolicy(r.retry ?? r.traffic?.retry);
    if (retry) a.retryPolicy = retry;
    applyUpgrades(a, r);
    route.route = a;
  } else {
    // A route without a usable destination answers 500 rather than falling through.
    route.directResponse = { status: 500 };
  }
  const md = buildResourceMetadata(r.metadata);
  if (md) route.metadata = md;
  if (r.statName) route.statPrefix = r.statName;
  const tracing = buildRouteTracing(r);
  if (tracing) route.tracing = tracing;
  const reqAdd = buildHeadersToAdd(r.addRequestHeaders);
  if (reqAdd) route.requestHeadersToAdd = reqAdd;
  if (r.removeRequestHeaders?.length) route.requestHeadersToRemove = [...r.removeRequestHeaders];
  const respAdd = buildHeadersToAdd(r.addResponseHeaders);
  if (respAdd) route.responseHeadersToAdd = respAdd;
  if (r.removeResponseHeaders?.length) route.responseHeadersToRemove = [...r.removeResponseHeaders];
  return compact(route);
}

/** Per-route tracing from a BackendTrafficPolicy: sampling rates and custom tags. */
function buildRouteTracing(r: HTTPRoute): Msg | undefined {
  const t = r.traffic?.telemetry?.tracing;
  if (!t) return undefined;
  const out: Msg = {};
  if (t.clientSamplingFraction) out.clientSampling = fraction(t.clientSamplingFraction);
  if (t.samplingFraction) out.randomSampling = fraction(t.samplingFraction);
  if (t.overallSamplingFraction) out.overallSampling = fraction(t.overallSamplingFraction);
  const tags = buildCustomTags(t.customTags);
  if (tags) out.customTags = tags;
  if (t.spanName?.client) out.operation = t.spanName.client;
  if (t.spanName?.server) out.upstreamOperation = t.spanName.server;
  return Object.keys(out).length ? out : undefined;
}
