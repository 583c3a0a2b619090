// envoy.filters.http.ext_authz: asks an authorization service whether a request may proceed,
// through the cluster the config names, before it is routed. Over HTTP the service gets the
// request's method, path (after path_prefix, or path_override), host, Authorization and the
// allowed headers (and body, when with_request_body); a 200 allows and its allowed upstream
// headers are added to the request, any other status denies with that status, body and the
// allowed client headers. Over gRPC it gets envoy.service.auth.v3.Authorization/Check with the
// request's attributes; an OK status allows (with the headers to set/append/remove), anything
// else denies (403, or the denied response's status, headers and body). When the service cannot
// be reached the request fails with status_on_error (403 by default) unless failure_mode_allow.
// Envoy Gateway disables the filter by default and enables it per route (ExtAuthzPerRoute).
import { ConfigError } from '../../config/errors.js';
import { at, bool, durationMs, field, list, num, obj, str, type Json } from '../../config/json.js';
import { compileStringMatcher, type StringMatch } from '../../router/string_match.js';
import { callCluster, compileCallRetry, compileHttpUri, type CallRetryPolicy, type CallResult } from '../async_client.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { removeHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { FilterStats, httpStatusCode, trustedClientAddress } from './auth_common.js';
import { grpcCheck, type GrpcCheckResult } from './ext_authz_grpc.js';

type HeaderMatchers = StringMatch[] | undefined;

interface HttpService {
  cluster: string;
  scheme: string;
  authority: string;
  timeoutMs: number;
  pathPrefix: string;
  pathOverride: string;
  headersToAdd: [string, string][];
  allowedUpstream: HeaderMatchers;
  allowedUpstreamAppend: HeaderMatchers;
  allowedClient: HeaderMatchers;
  allowedClientOnSuccess: HeaderMatchers;
  retry: CallRetryPolicy | undefined;
}

interface GrpcService {
  cluster: string;
  authority: string;
  timeoutMs: number;
  retry: CallRetryPolicy | undefined;
}

export interface ExtAuthzConfig {
  http: HttpService | undefined;
  grpc: GrpcService | undefined;
  failureModeAllow: boolean;
  failureModeAllowHeaderAdd: boolean;
  statusOnError: number;
  allowedHeaders: HeaderMatchers;
  disallowedHeaders: HeaderMatchers;
  maxRequestBytes: number;
  allowPartialMessage: boolean;
  packAsBytes: boolean;
  includePeerCertificate: boolean;
  metadataNamespaces: string[];
}

interface PerRoute { disabled: boolean; contextExtensions: Record<string, string>; bufferBody: boolean | undefined }

function matchers(c: Json | undefined, path: string): HeaderMatchers {
  if (!c) return undefined;
  return list(c, 'patterns', path).map((m: Json, i: number) => compileStringMatcher(m, at(at(path, 'patterns'), i)));
}

const matches = (ms: StringMatch[], name: string) => ms.some((m) => m(name));

function statusCode(v: unknown, path: string): number {
  const n = httpStatusCode(v);
  if (n === undefined) throw new ConfigError(path, `unknown HTTP status ${JSON.stringify(v)}`);
  return n;
}

function compileConfig(c: Json, path: string): ExtAuthzConfig {
  const hs = obj(c, 'httpService', path);
  const gs = obj(c, 'grpcService', path);
  if (!hs === !gs) throw new ConfigError(path, 'exactly one of http_service or grpc_service is required');
  let http: HttpService | undefined;
  if (hs) {
    const hp = at(path, 'httpService');
    const uri = compileHttpUri(obj(hs, 'serverUri', hp), at(hp, 'serverUri'));
    const areq = obj(hs, 'authorizationRequest', hp);
    const ares = obj(hs, 'authorizationResponse', hp);
    const arp = at(hp, 'authorizationResponse');
    http = {
      cluster: uri.cluster, scheme: uri.scheme, authority: uri.authority, timeoutMs: uri.timeoutMs,
      pathPrefix: str(hs, 'pathPrefix', hp),
      pathOverride: str(hs, 'pathOverride', hp),
      headersToAdd: areq ? list(areq, 'headersToAdd', at(hp, 'authorizationRequest')).map((h: Json) => [str(h, 'key', '').toLowerCase(), str(h, 'value', '')] as [string, string]) : [],
      allowedUpstream: ares && matchers(obj(ares, 'allowedUpstreamHeaders', arp), at(arp, 'allowedUpstreamHeaders')),
      allowedUpstreamAppend: ares && matchers(obj(ares, 'allowedUpstreamHeadersToAppend', arp), at(arp, 'allowedUpstreamHeadersToAppend')),
      allowedClient: ares && matchers(obj(ares, 'allowedClientHeaders', arp), at(arp, 'allowedClientHeaders')),
      allowedClientOnSuccess: ares && matchers(obj(ares, 'allowedClientHeadersOnSuccess', arp), at(arp, 'allowedClientHeadersOnSuccess')),
      retry: compileCallRetry(obj(hs, 'retryPolicy', hp), at(hp, 'retryPolicy')),
    };
    if (areq && obj(areq, 'allowedHeaders', at(hp, 'authorizationRequest'))) {
      throw new ConfigError(at(hp, 'authorizationRequest.allowedHeaders'), 'deprecated: use allowed_headers of the filter');
    }
  }
  let grpc: GrpcService | undefined;
  if (gs) {
    const gp = at(path, 'grpcService');
    const eg = obj(gs, 'envoyGrpc', gp);
    if (!eg) throw new ConfigError(obj(gs, 'googleGrpc', gp) ? at(gp, 'googleGrpc') : at(gp, 'envoyGrpc'), 'only envoy_grpc services are supported');
    const cluster = str(eg, 'clusterName', at(gp, 'envoyGrpc'));
    if (!cluster) throw new ConfigError(at(gp, 'envoyGrpc.clusterName'), 'required');
    grpc = {
      cluster,
      authority: str(eg, 'authority', at(gp, 'envoyGrpc')) || cluster,
      timeoutMs: durationMs(gs, 'timeout', gp) ?? 0,
      retry: compileCallRetry(obj(eg, 'retryPolicy', at(gp, 'envoyGrpc')) ?? obj(gs, 'retryPolicy', gp), at(gp, 'retryPolicy')),
    };
  }
  const wb = obj(c, 'withRequestBody', path);
  const soe = obj(c, 'statusOnError', path);
  for (const unsupported of ['filterEnabled', 'denyAtDisable', 'filterEnabledMetadata']) {
    if (field(c, unsupported) !== undefined) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  return {
    http, grpc,
    failureModeAllow: bool(c, 'failureModeAllow', path),
    failureModeAllowHeaderAdd: bool(c, 'failureModeAllowHeaderAdd', path),
    statusOnError: soe && field(soe, 'code') !== undefined ? statusCode(field(soe, 'code'), at(path, 'statusOnError.code')) : 403,
    allowedHeaders: matchers(obj(c, 'allowedHeaders', path), at(path, 'allowedHeaders')),
    disallowedHeaders: matchers(obj(c, 'disallowedHeaders', path), at(path, 'disallowedHeaders')),
    maxRequestBytes: wb ? num(wb, 'maxRequestBytes', at(path, 'withRequestBody'), 0)! : -1,
    allowPartialMessage: wb ? bool(wb, 'allowPartialMessage', at(path, 'withRequestBody')) : false,
    packAsBytes: wb ? bool(wb, 'packAsBytes', at(path, 'withRequestBody')) : false,
    includePeerCertificate: bool(c, 'includePeerCertificate', path),
    metadataNamespaces: list(c, 'metadataContextNamespaces', path).map(String),
  };
}

function parsePerRoute(c: Json, path: string): PerRoute {
  const cs = obj(c, 'checkSettings', path);
  const cp = at(path, 'checkSettings');
  const ext = cs ? obj(cs, 'contextExtensions', cp) ?? {} : {};
  const contextExtensions: Record<string, string> = {};
  for (const [k, v] of Object.entries(ext)) contextExtensions[k] = String(v);
  let bufferBody: boolean | undefined;
  if (cs && bool(cs, 'disableRequestBodyBuffering', cp)) bufferBody = false;
  if (cs && obj(cs, 'withRequestBody', cp)) throw new ConfigError(at(cp, 'withRequestBody'), 'per-route request body settings are not supported by this proxy');
  return { disabled: bool(c, 'disabled', path), contextExtensions, bufferBody };
}

/** Per-stream state while a check is pending. */
interface Pending {
  route: PerRoute;
  body: Buffer[];
  size: number;
  sent: boolean;
  /** Headers for the response to the client (allowed on success, or from a denial). */
  responseHeaders?: HeaderList;
}

/** Headers the check sends: all but those disallowed, or only the allowed ones (plus the defaults). */
function checkHeaders(cfg: ExtAuthzConfig, s: HttpStream, http: boolean): HeaderList {
  const out: HeaderList = [];
  const h = s.headers;
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!;
    if (cfg.disallowedHeaders && matches(cfg.disallowedHeaders, name)) continue;
    const always = http && (name === 'authorization' || name === 'content-length');
    if (!always && cfg.allowedHeaders && !matches(cfg.allowedHeaders, name)) continue;
    if (http && !always && !cfg.allowedHeaders) continue;
    out.push(name, h[i + 1]!);
  }
  return out;
}

const STATS = ['ok', 'denied', 'error', 'failure_mode_allowed'] as const;

class ExtAuthzFilter implements HttpFilter {
  private readonly stats = new FilterStats('ext_authz.', STATS);

  constructor(readonly name: string, private readonly cfg: ExtAuthzConfig) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const pf = s.perFilterConfig(this.name);
    const route = (pf?.config as PerRoute | undefined) ?? { disabled: false, contextExtensions: {}, bufferBody: undefined };
    if (pf?.disabled || route.disabled) return FilterStatus.Continue;
    const st: Pending = { route, body: [], size: 0, sent: false };
    (s.filterState ??= new Map()).set(this, st);
    const wantBody = this.cfg.maxRequestBytes >= 0 && route.bufferBody !== false && !s.requestComplete;
    if (wantBody) s.addDataFilter(this);
    else this.check(s, st);
    return FilterStatus.Stop;
  }

  decodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer {
    const st = s.filterState?.get(this) as Pending | undefined;
    if (!st || st.sent) return chunk;
    const room = this.cfg.maxRequestBytes - st.size;
    if (chunk.length) { st.body.push(room >= chunk.length ? chunk : chunk.subarray(0, Math.max(0, room))); st.size += Math.min(chunk.length, Math.max(room, 0)); }
    if (end || st.size >= this.cfg.maxRequestBytes) {
      if (!end && chunk.length > room && !this.cfg.allowPartialMessage) {
        st.sent = true;
        s.sendLocalReply(413, 'Payload Too Large', 'request_payload_too_large');
        return chunk;
      }
      this.check(s, st);
    }
    return chunk;
  }

  decodeTrailers(s: HttpStream): FilterStatus {
    const st = s.filterState?.get(this) as Pending | undefined;
    if (st && !st.sent) this.check(s, st);
    return FilterStatus.Continue;
  }

  private check(s: HttpStream, st: Pending): void {
    st.sent = true;
    const body = st.body.length ? Buffer.concat(st.body) : undefined;
    if (this.cfg.http) this.checkHttp(s, this.cfg.http, body);
    else this.checkGrpc(s, this.cfg.grpc!, st.route, body);
  }

  private checkHttp(s: HttpStream, svc: HttpService, body: Buffer | undefined): void {
    const headers = checkHeaders(this.cfg, s, true);
    removeHeader(headers, 'content-length');
    for (const [k, v] of svc.headersToAdd) setHeader(headers, k, v);
    const path = svc.pathOverride || `${svc.pathPrefix}${s.path}`;
    const call = callCluster(s.ctx.clusters, svc.cluster, {
      method: s.method, path, authority: s.authority, scheme: svc.scheme, headers, body: body ?? Buffer.alloc(0), timeoutMs: svc.timeoutMs, retry: svc.retry,
    });
    call.result.then((r) => this.onHttp(s, svc, r));
  }

  private onHttp(s: HttpStream, svc: HttpService, r: CallResult): void {
    if (s.done) return;
    if (!r.ok) { this.onError(s); return; }
    const res = r.response;
    const rh = res.headers;
    if (res.status === 200) {
      for (let i = 0; i < rh.length; i += 2) {
        const name = rh[i]!;
        if (svc.allowedUpstream && matches(svc.allowedUpstream, name)) setHeader(s.headers, name, rh[i + 1]!);
        else if (svc.allowedUpstreamAppend && matches(svc.allowedUpstreamAppend, name)) s.headers.push(name, rh[i + 1]!);
      }
      if (svc.allowedClientOnSuccess) {
        const add: HeaderList = [];
        for (let i = 0; i < rh.length; i += 2) if (matches(svc.allowedClientOnSuccess, rh[i]!)) add.push(rh[i]!, rh[i + 1]!);
        if (add.length) this.state(s).responseHeaders = add;
      }
      this.allow(s);
      return;
    }
    // Denied: the service's status, body and the headers the client may see.
    const out: HeaderList = [];
    for (let i = 0; i < rh.length; i += 2) {
      const name = rh[i]!;
      if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection' || name === 'keep-alive' || name === 'host' || name === 'date' || name === 'server') continue;
      if (svc.allowedClient && !matches(svc.allowedClient, name) && !['www-authenticate', 'location', 'content-type'].includes(name)) continue;
      out.push(name, rh[i + 1]!);
    }
    this.deny(s, res.status, res.body, out);
  }

  private checkGrpc(s: HttpStream, svc: GrpcService, route: PerRoute, body: Buffer | undefined): void {
    grpcCheck(s.ctx.clusters, svc, s, {
      headers: checkHeaders(this.cfg, s, false),
      body,
      packAsBytes: this.cfg.packAsBytes,
      contextExtensions: route.contextExtensions,
      clientAddress: trustedClientAddress(s),
      metadataNamespaces: this.cfg.metadataNamespaces,
      includePeerCertificate: this.cfg.includePeerCertificate,
    }).then((r) => this.onGrpc(s, r));
  }

  private onGrpc(s: HttpStream, r: GrpcCheckResult): void {
    if (s.done) return;
    if (r.kind === 'error') { this.onError(s); return; }
    if (r.kind === 'ok') {
      for (const [name, value, append] of r.headers) {
        if (append) s.headers.push(name, value); else setHeader(s.headers, name, value);
      }
      for (const name of r.headersToRemove) if (!name.startsWith(':') && name !== 'host') removeHeader(s.headers, name);
      if (r.responseHeaders.length) this.state(s).responseHeaders = r.responseHeaders;
      if (r.dynamicMetadata) (s.dynamicMetadata ??= {})['envoy.filters.http.ext_authz'] = r.dynamicMetadata;
      this.allow(s);
      return;
    }
    this.deny(s, r.status, Buffer.from(r.body), r.headers.flatMap(([k, v]) => [k, v]));
  }

  private allow(s: HttpStream): void {
    this.stats.of(s).ok.value++;
    s.continueDecoding();
  }

  private deny(s: HttpStream, status: number, body: Buffer, headers: HeaderList): void {
    this.stats.of(s).denied.value++;
    // The service's headers go on the local reply in encodeHeaders, so that they win over the
    // reply's own (a content type, a challenge).
    if (headers.length) this.state(s).responseHeaders = headers;
    s.sendLocalReply(status, body.toString('utf8'), 'ext_authz_denied');
  }

  private state(s: HttpStream): Pending {
    return s.filterState!.get(this) as Pending;
  }

  private onError(s: HttpStream): void {
    const stats = this.stats.of(s);
    stats.error.value++;
    if (this.cfg.failureModeAllow) {
      stats.failure_mode_allowed.value++;
      if (this.cfg.failureModeAllowHeaderAdd) setHeader(s.headers, 'x-envoy-auth-failure-mode-allowed', 'true');
      s.continueDecoding();
      return;
    }
    s.sendLocalReply(this.cfg.statusOnError, '', 'ext_authz_error');
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    const add = (s.filterState?.get(this) as Pending | undefined)?.responseHeaders;
    if (!add) return;
    for (let i = 0; i < add.length; i += 2) setHeader(headers, add[i]!, add[i + 1]!);
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
  create: (name: string, c: Json, path: string) => new ExtAuthzFilter(name, compileConfig(c, path)),
  perRoute: { 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute': parsePerRoute },
});

