// Global rate limiting (BackendTrafficPolicy rateLimit.global): one ratelimit filter per domain a
// listener's routes count in (the listener's own, then one per shared policy), each calling
// Envoy Gateway's rate limit service; per route, the rate limits to send, from the same
// descriptors the service's configuration is built from (src/xds/ratelimit).
import type { HTTPListener, Xds } from '../../../ir/xds.js';
import { globalRules, routeRateLimits } from '../../ratelimit/global.js';
import type { Context } from '../context.js';
import { compact, protoDuration, typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.ratelimit';
export const rateLimitClusterName = 'ratelimit_cluster';
const defaultServicePort = 8081;

/** The filter of a domain: the listener's own has the plain name, a shared one its domain as suffix. */
function filterName(l: HTTPListener, domain: string): string {
  return domain === l.name ? filterType : `${filterType}/${domain}`;
}

function filterConfig(l: HTTPListener, domain: string, ctx: Context): Msg {
  const g = ctx.options.globalRateLimit;
  return compact({
    domain,
    timeout: protoDuration(g?.timeout),
    failureModeDeny: g?.failClosed ? true : undefined,
    rateLimitService: { grpcService: { envoyGrpc: { clusterName: rateLimitClusterName } }, transportApiVersion: 'V3' },
    // The X-RateLimit-* headers (draft 03) unless the listener's policy turned them off.
    enableXRatelimitHeaders: l.headers?.disableRateLimitHeaders ? undefined : 'DRAFT_VERSION_03',
    disableXEnvoyRatelimitedHeader: true,
  });
}

export const globalRateLimit: HTTPFeature = {
  filters(l, ctx) {
    if (!l.routes?.some((r) => globalRules(r).length)) return [];
    // The listener's own domain always has a filter; each shared domain one more.
    const seen = new Set<string>([filterType]);
    const out: Msg[] = [{ name: filterType, typedConfig: typed('envoy.extensions.filters.http.ratelimit.v3.RateLimit', filterConfig(l, l.name, ctx)) }];
    for (const r of l.routes) {
      if (!globalRules(r).length) continue;
      for (const { domain } of routeRateLimits(l, r)) {
        const name = filterName(l, domain);
        if (seen.has(name)) continue;
        seen.add(name);
        out.push({ name, typedConfig: typed('envoy.extensions.filters.http.ratelimit.v3.RateLimit', filterConfig(l, domain, ctx)) });
      }
    }
    return out;
  },
  perRoute(r, l) {
    // Only routes that forward: Envoy ignores rate limits on redirects and direct responses.
    if (!globalRules(r).length || !r.destination) return undefined;
    const out: Record<string, Msg> = {};
    for (const { domain, rateLimits } of routeRateLimits(l, r)) {
      out[filterName(l, domain)] = typed('envoy.extensions.filters.http.ratelimit.v3.RateLimitPerRoute', { domain, rateLimits });
    }
    return out;
  },
  sharedResources(ctx, ir) {
    if (!ir.http?.some((l) => l.routes?.some((r) => globalRules(r).length))) return;
    addRateLimitCluster(ctx, ir);
  },
};

/** The host and port of the rate limit service: the configured URL, or Envoy Gateway's Service. */
function serviceAddress(ctx: Context): { host: string; port: number } {
  const url = ctx.options.globalRateLimit?.serviceURL;
  if (url) {
    const u = new URL(url);
    return { host: u.hostname, port: u.port ? Number(u.port) : defaultServicePort };
  }
  const ns = ctx.options.controllerNamespace ?? 'envoy-gateway-system';
  return { host: `envoy-ratelimit.${ns}.svc.${ctx.options.dnsDomain ?? 'cluster.local'}`, port: defaultServicePort };
}

/** The cluster of the rate limit service: HTTP/2 over mTLS with the proxy's client certificate. */
function addRateLimitCluster(ctx: Context, ir: Xds): void {
  const cert = ir.globalResources?.envoyClientCertificate;
  // The service only accepts the proxies' certificate: without one there is nothing to reach it with.
  if (!cert || ctx.table.has('clusters', rateLimitClusterName)) return;
  const { host, port } = serviceAddress(ctx);
  ctx.addCluster({
    name: rateLimitClusterName,
    settings: [{ name: `${rateLimitClusterName}/backend/-1`, addressType: 'FQDN', endpoints: [{ host, port }], weight: 1, protocol: 'HTTP2' }],
    endpointType: 'dns',
    perEndpointStats: ir.metrics?.enablePerEndpointStats,
    transportSocket: {
      name: 'envoy.transport_sockets.tls',
      typedConfig: typed('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', {
        commonTlsContext: {
          tlsCertificateSdsSecretConfigs: [{ name: cert.name, sdsConfig: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' } }],
          tlsParams: { tlsMaximumProtocolVersion: 'TLSv1_3' },
          validationContext: { trustedCa: { filename: ctx.options.globalRateLimit?.caFile ?? '/certs/ca.crt' } },
        },
      }),
    },
  });
  ctx.addSecretOnce(cert);
}
