// External authorization (SecurityPolicy extAuth): one ext_authz filter per policy, calling the
// policy's gRPC or HTTP authorization service; per route, the policy's context extensions.
import type { ExtAuth, HTTPListener } from '../../../ir/xds.js';
import { registry } from '../../proto/registry.js';
import { endpointTypeOf } from '../cluster.js';
import type { Context } from '../context.js';
import { buildRetryPolicy } from '../route-policy.js';
import { protoDuration, typed, type Msg } from '../util.js';
import { uniqueFilters, type HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.ext_authz';
const defaultTimeout = '10s';

/** An HTTP status as the envoy.type.v3.StatusCode enum names it. */
export function statusCodeName(code: number): string | number {
  return registry().enum('envoy.type.v3.StatusCode').byNumber.get(code) ?? code;
}

function headerPatterns(names: string[] | undefined): Msg | undefined {
  if (!names?.length) return undefined;
  return { patterns: names.map((h) => ({ exact: h, ignoreCase: true })) };
}

function filterConfig(e: ExtAuth): Msg {
  const cfg: Msg = {};
  const retry = e.traffic?.retry ? buildRetryPolicy(e.traffic.retry) : undefined;
  if (e.grpc) {
    const svc: Msg = { envoyGrpc: { authority: e.grpc.authority, clusterName: e.grpc.destination.name }, timeout: defaultTimeout };
    if (retry) svc.retryPolicy = grpcRetry(retry);
    cfg.grpcService = svc;
  } else if (e.http) {
    const h = e.http;
    const svc: Msg = {
      serverUri: { uri: `${isTLS(e) ? 'https' : 'http'}://${h.authority ?? ''}${h.pathOverride ?? h.path ?? ''}`, cluster: h.destination.name, timeout: defaultTimeout },
    };
    if (h.path) svc.pathPrefix = h.path;
    if (h.pathOverride) svc.pathOverride = h.pathOverride;
    const allowed = headerPatterns(h.headersToBackend);
    if (allowed) svc.authorizationResponse = { allowedUpstreamHeaders: allowed };
    if (retry) svc.retryPolicy = grpcRetry(retry);
    cfg.httpService = svc;
  }
  cfg.transportApiVersion = 'V3';
  if (e.failOpen) cfg.failureModeAllow = true;
  const allowed = headerPatterns(e.headersToExtAuth);
  if (allowed) cfg.allowedHeaders = allowed;
  if (e.bodyToExtAuth) cfg.withRequestBody = { maxRequestBytes: e.bodyToExtAuth.maxRequestBytes };
  if (e.recomputeRoute) cfg.clearRouteCache = true;
  if (e.includeRouteMetadata) cfg.routeMetadataContextNamespaces = ['envoy-gateway'];
  if (e.statusOnError) cfg.statusOnError = { code: statusCodeName(e.statusOnError) };
  return cfg;
}

function isTLS(e: ExtAuth): boolean {
  return !!e.http?.destination.settings?.some((s) => s.tls);
}

/** The retry policy of a gRPC/HTTP service (envoy.config.core.v3.RetryPolicy). */
function grpcRetry(route: Msg): Msg {
  const out: Msg = {};
  if (route.retryBackOff) out.retryBackOff = route.retryBackOff;
  if (route.numRetries !== undefined) out.numRetries = route.numRetries;
  if (route.retryOn) out.retryOn = route.retryOn;
  return out;
}

export const extAuth: HTTPFeature = {
  filters(l) {
    return uniqueFilters(l.routes, (r) => {
      const e = r.security?.extAuth;
      if (!e) return undefined;
      return [{ name: `${filterType}/${e.name}`, disabled: true, typedConfig: typed('envoy.extensions.filters.http.ext_authz.v3.ExtAuthz', filterConfig(e)) }];
    });
  },
  perRoute(r) {
    const e = r.security?.extAuth;
    if (!e) return undefined;
    const check: Msg = {};
    if (e.contextExtensions?.length) {
      check.contextExtensions = Object.fromEntries(e.contextExtensions.map((c) => [c.name, Buffer.from(c.value, 'base64').toString('utf8')]));
    }
    return { [`${filterType}/${e.name}`]: typed('envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute', { checkSettings: check }) };
  },
  resources(l: HTTPListener, ctx: Context) {
    for (const r of l.routes ?? []) {
      const e = r.security?.extAuth;
      const dest = e?.grpc?.destination ?? e?.http?.destination;
      if (!e || !dest?.settings?.length) continue;
      ctx.addCluster({
        name: dest.name,
        settings: dest.settings,
        endpointType: endpointTypeOf(dest.settings),
        traffic: e.traffic,
        metadata: dest.metadata,
        http2: e.traffic?.http2,
        hashPolicyInCluster: true,
      });
    }
  },
};

