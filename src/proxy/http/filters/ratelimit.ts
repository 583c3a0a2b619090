// envoy.filters.http.ratelimit: global rate limiting through a rate limit service
// (envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit over gRPC on the configured
// cluster). The route's RateLimitPerRoute gives the rate limits (descriptors built as Envoy
// builds them, ratelimit/descriptors.ts) and may change the domain; the service answers OK or
// OVER_LIMIT per descriptor. Over the limit: a local reply (429 unless configured) with
// x-envoy-ratelimited (unless disabled) and the service's headers and body. A failed call lets the
// request through, or with failure_mode_deny answers status_on_error (500). With
// DRAFT_VERSION_03 the response carries x-ratelimit-limit/-remaining/-reset of the most
// constrained descriptor. Descriptors marked apply_on_stream_done are sent once the stream is over.
import { ConfigError } from '../../config/errors.js';
import { at, bool, durationMs, enumOf, list, numOr, obj, str, type Json } from '../../config/json.js';
import { counter, type Counter } from '../../stats.js';
import { FilterStatus, type FilterFactoryContext, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { grpcUnary, compileGrpcService, type GrpcService } from '../grpc_client.js';
import { compileHeaderMutation, type HeaderMutation } from '../header_mutation.js';
import { getHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { buildDescriptor, compileRateLimits, type Descriptor, type RateLimitPolicy } from './ratelimit/descriptors.js';

const METHOD = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit';
const REQUEST = 'envoy.service.ratelimit.v3.RateLimitRequest';
const RESPONSE = 'envoy.service.ratelimit.v3.RateLimitResponse';

interface RateLimitConfig {
  domain: string;
  stage: number;
  requestType: 'internal' | 'external' | 'both';
  timeoutMs: number;
  failureModeDeny: boolean;
  resourceExhausted: boolean;
  service: GrpcService;
  xRateLimitHeaders: boolean;
  disableXEnvoyRateLimited: boolean;
  limitedStatus: number;
  responseHeaders: HeaderMutation | undefined;
  errorStatus: number;
  stats: { ok: Counter; overLimit: Counter; error: Counter; failureModeAllowed: Counter };
}

interface PerRoute { domain: string; policies: RateLimitPolicy[] }

function httpStatus(c: Json, name: string, path: string, dflt: number): number {
  const s = obj(c, name, path);
  if (!s) return dflt;
  const code = numOr(s, 'code', at(path, name), 0);
  return code >= 100 ? code : dflt;
}

function compileConfig(c: Json, path: string): RateLimitConfig {
  const domain = str(c, 'domain', path);
  if (!domain) throw new ConfigError(at(path, 'domain'), 'required');
  const rls = obj(c, 'rateLimitService', path);
  if (!rls) throw new ConfigError(at(path, 'rateLimitService'), 'required');
  const rp = at(path, 'rateLimitService');
  const version = str(rls, 'transportApiVersion', rp, 'V3');
  if (version !== 'V3') throw new ConfigError(at(rp, 'transportApiVersion'), 'only V3 is supported');
  const service = compileGrpcService(obj(rls, 'grpcService', rp), at(rp, 'grpcService'));
  const stat = (n: string) => counter(`cluster.${service.cluster}.ratelimit.${n}`);
  return {
    domain,
    stage: numOr(c, 'stage', path, 0),
    requestType: (str(c, 'requestType', path) || 'both') as RateLimitConfig['requestType'],
    // Envoy's default: 20 ms for the whole call.
    timeoutMs: durationMs(c, 'timeout', path) ?? 20,
    failureModeDeny: bool(c, 'failureModeDeny', path),
    resourceExhausted: bool(c, 'rateLimitedAsResourceExhausted', path),
    service,
    xRateLimitHeaders: enumOf(c, 'enableXRatelimitHeaders', path, ['OFF', 'DRAFT_VERSION_03'] as const, 'OFF') === 'DRAFT_VERSION_03',
    disableXEnvoyRateLimited: bool(c, 'disableXEnvoyRatelimitedHeader', path),
    limitedStatus: httpStatus(c, 'rateLimitedStatus', path, 429),
    responseHeaders: compileHeaderMutation(c, 'responseHeadersToAdd', '-', path),
    errorStatus: httpStatus(c, 'statusOnError', path, 500),
    stats: { ok: stat('ok'), overLimit: stat('over_limit'), error: stat('error'), failureModeAllowed: stat('failure_mode_allowed') },
  };
}

function compilePerRoute(c: Json, path: string): PerRoute {
  const vh = enumOf(c, 'vhRateLimits', path, ['OVERRIDE', 'INCLUDE', 'IGNORE'] as const, 'OVERRIDE');
  const oo = enumOf(c, 'overrideOption', path, ['DEFAULT', 'OVERRIDE_POLICY', 'INCLUDE_POLICY', 'IGNORE_POLICY'] as const, 'DEFAULT');
  void vh;
  void oo;
  return { domain: str(c, 'domain', path), policies: compileRateLimits(list(c, 'rateLimits', path), at(path, 'rateLimits')) };
}

/** Seconds in a rate limit unit, for the quota policy of x-ratelimit-limit. */
const UNIT_SECONDS: Record<string, number> = { SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86400, MONTH: 2592000, YEAR: 31536000 };

interface Status { code?: string; currentLimit?: { requestsPerUnit?: number; unit?: string; name?: string }; limitRemaining?: number; durationUntilReset?: string }

/** x-ratelimit-* from the descriptor statuses: the most constrained one, and every quota policy. */
function xRateLimitHeaders(statuses: Status[]): HeaderList | undefined {
  let min: Status | undefined;
  let policy = '';
  for (const st of statuses) {
    if (!st.currentLimit) continue;
    if (!min || (st.limitRemaining ?? 0) < (min.limitRemaining ?? 0)) min = st;
    const w = UNIT_SECONDS[st.currentLimit.unit ?? ''];
    if (w) {
      policy += `, ${st.currentLimit.requestsPerUnit ?? 0};w=${w}`;
      if (st.currentLimit.name) policy += `;name="${st.currentLimit.name}"`;
    }
  }
  if (!min) return undefined;
  const reset = min.durationUntilReset ? Math.floor(Number(min.durationUntilReset.replace(/s$/, ''))) : 0;
  return ['x-ratelimit-limit', `${min.currentLimit!.requestsPerUnit ?? 0}${policy}`, 'x-ratelimit-remaining', String(min.limitRemaining ?? 0), 'x-ratelimit-reset', String(reset)];
}

function descriptorJson(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { entries: d.entries.map((e) => ({ key: e.key, value: e.value })) };
  if (d.limit) out.limit = { requestsPerUnit: d.limit.requestsPerUnit, unit: d.limit.unit };
  return out;
}

/**
 * The calls for a set of descriptors: descriptors that cost the same go in one request (its
 * hits_addend), so a request with differently priced descriptors is split.
 */
function requests(domain: string, ds: Descriptor[]): Record<string, unknown>[] {
  const byHits = new Map<number, Descriptor[]>();
  for (const d of ds) {
    const h = d.hitsAddend ?? 1;
    let l = byHits.get(h);
    if (!l) byHits.set(h, (l = []));
    l.push(d);
  }
  return [...byHits].map(([hits, list]) => {
    const r: Record<string, unknown> = { domain, descriptors: list.map(descriptorJson) };
    if (hits !== 1) r.hitsAddend = hits;
    return r;
  });
}

interface State { headers?: HeaderList; done?: { domain: string; policies: RateLimitPolicy[] } }

class RateLimitFilter implements HttpFilter {
  constructor(readonly name: string, private readonly config: RateLimitConfig, private readonly ctx: FilterFactoryContext) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const route = s.route;
    if (!route || route.action.kind !== 'route') return FilterStatus.Continue;
    const c = this.config;
    if (c.requestType !== 'both') {
      const internal = getHeader(s.headers, 'x-envoy-internal') === 'true';
      if ((c.requestType === 'internal') !== internal) return FilterStatus.Continue;
    }
    const pr = s.perFilterConfig(this.name)?.config as PerRoute | undefined;
    if (!pr?.policies.length) return FilterStatus.Continue;
    const domain = pr.domain || c.domain;
    const now: Descriptor[] = [];
    let later = false;
    for (const p of pr.policies) {
      if (p.stage !== c.stage) continue;
      if (p.applyOnStreamDone) { later = true; continue; }
      const d = buildDescriptor(p, s);
      if (d) now.push(d);
    }
    if (later) { this.state(s).done = { domain, policies: pr.policies }; s.watchCompletion(this); }
    if (!now.length) return FilterStatus.Continue;
    const clusters = this.ctx.clusters ?? s.ctx.clusters;
    const calls = requests(domain, now).map((r) => grpcUnary(clusters, c.service, METHOD, REQUEST, RESPONSE, r, c.timeoutMs));
    void Promise.all(calls).then((results) => { if (!s.done) this.onResponse(s, results); });
    return FilterStatus.Stop;
  }

  private state(s: HttpStream): State {
    const fs = (s.filterState ??= new Map());
    let st = fs.get(this) as State | undefined;
    if (!st) fs.set(this, (st = {}));
    return st;
  }

  private onResponse(s: HttpStream, results: Awaited<ReturnType<typeof grpcUnary>>[]): void {
    const c = this.config;
    const failed = results.find((r) => !r.ok);
    if (failed) {
      c.stats.error.value++;
      if (c.failureModeDeny) { s.sendLocalReply(c.errorStatus, '', 'rate_limiter_error'); return; }
      c.stats.failureModeAllowed.value++;
      s.continueDecoding();
      return;
    }
    const messages = results.map((r) => (r as { message: Record<string, unknown> }).message);
    const over = messages.some((m) => m.overallCode === 'OVER_LIMIT');
    const statuses = messages.flatMap((m) => (m.statuses as Status[] | undefined) ?? []);
    const respHeaders: HeaderList = [];
    for (const m of messages) for (const h of (m.responseHeadersToAdd as { key: string; value?: string }[] | undefined) ?? []) respHeaders.push(h.key.toLowerCase(), h.value ?? '');
    if (c.xRateLimitHeaders) { const x = xRateLimitHeaders(statuses); if (x) respHeaders.push(...x); }
    for (const m of messages) {
      const md = m.dynamicMetadata as Record<string, unknown> | undefined;
      if (md) for (const [k, v] of Object.entries(md)) s.setMetadata('envoy.filters.http.ratelimit', k, v);
    }
    if (!over) {
      c.stats.ok.value++;
      for (const m of messages) for (const h of (m.requestHeadersToAdd as { key: string; value?: string }[] | undefined) ?? []) setHeader(s.headers, h.key.toLowerCase(), h.value ?? '');
      if (respHeaders.length) this.state(s).headers = respHeaders;
      s.continueDecoding();
      return;
    }
    c.stats.overLimit.value++;
    c.responseHeaders?.apply(respHeaders, s);
    if (!c.disableXEnvoyRateLimited) respHeaders.push('x-envoy-ratelimited', 'true');
    const raw = messages.find((m) => m.rawBody)?.rawBody as string | undefined;
    const body = raw ? Buffer.from(raw, 'base64').toString('utf8') : '';
    if (c.resourceExhausted && (getHeader(s.headers, 'content-type') ?? '').startsWith('application/grpc')) {
      respHeaders.push('content-type', 'application/grpc', 'grpc-status', '8');
      s.sendLocalReply(200, '', 'request_rate_limited', respHeaders);
      return;
    }
    s.sendLocalReply(c.limitedStatus, body, 'request_rate_limited', respHeaders);
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st?.headers) return;
    for (let i = 0; i < st.headers.length; i += 2) setHeader(headers, st.headers[i]!, st.headers[i + 1]!);
  }

  /** Response costs: sent when the stream is over, the answer does not matter any more. */
  onStreamComplete(s: HttpStream): void {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st?.done) return;
    const ds: Descriptor[] = [];
    for (const p of st.done.policies) {
      if (!p.applyOnStreamDone || p.stage !== this.config.stage) continue;
      const d = buildDescriptor(p, s, true);
      if (d && (d.hitsAddend ?? 1) > 0) ds.push(d);
    }
    const clusters = this.ctx.clusters ?? s.ctx.clusters;
    for (const r of requests(st.done.domain, ds)) void grpcUnary(clusters, this.config.service, METHOD, REQUEST, RESPONSE, r, this.config.timeoutMs);
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.ratelimit.v3.RateLimit',
  create: (name, c, path, ctx) => new RateLimitFilter(name, compileConfig(c, path), ctx),
  perRoute: { 'envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute': compilePerRoute },
});
