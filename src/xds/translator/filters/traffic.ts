// Traffic features of routes that run as HTTP filters: CORS, fault injection and response
// compression (BackendTrafficPolicy, SecurityPolicy cors, HTTPRoute CORS filters).
import type { CORS, HTTPRoute } from '../../../ir/xds.js';
import { buildStringMatcher } from '../route.js';
import { parseGoDuration, protoDuration, typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

/** A percentage as a FractionalPercent in millionths (absent: everything). */
function millionths(pct: number | undefined): Msg {
  return { numerator: Math.round((pct ?? 100) * 10000), denominator: 'MILLION' };
}

/** The route's CORS: an HTTPRoute CORS filter takes precedence over a SecurityPolicy's. */
function corsOf(r: HTTPRoute): CORS | undefined {
  return r.cors ?? r.security?.cors;
}

const corsFilter = 'envoy.filters.http.cors';

export const cors: HTTPFeature = {
  filters(l) {
    if (!l.routes?.some(corsOf)) return [];
    return [{ name: corsFilter, typedConfig: typed('envoy.extensions.filters.http.cors.v3.Cors') }];
  },
  perRoute(r) {
    const c = corsOf(r);
    if (!c) return undefined;
    const p: Msg = {};
    if (c.allowOrigins?.length) p.allowOriginStringMatch = c.allowOrigins.map(buildStringMatcher);
    if (c.allowMethods?.length) p.allowMethods = c.allowMethods.includes('*') ? '*' : c.allowMethods.join(', ');
    if (c.allowHeaders?.length) p.allowHeaders = c.allowHeaders.join(', ');
    if (c.exposeHeaders?.length) p.exposeHeaders = c.exposeHeaders.join(', ');
    const age = parseGoDuration(c.maxAge);
    if (age !== undefined) p.maxAge = String(Math.floor(age / 1e9));
    if (c.allowCredentials) p.allowCredentials = true;
    p.forwardNotMatchingPreflights = false;
    return { [corsFilter]: typed('envoy.extensions.filters.http.cors.v3.CorsPolicy', p) };
  },
};

const faultFilter = 'envoy.filters.http.fault';

export const fault: HTTPFeature = {
  filters(l) {
    if (!l.routes?.some((r) => r.traffic?.faultInjection)) return [];
    return [{ name: faultFilter, typedConfig: typed('envoy.extensions.filters.http.fault.v3.HTTPFault') }];
  },
  perRoute(r) {
    const f = r.traffic?.faultInjection;
    if (!f || (!f.delay && !f.abort)) return undefined;
    const cfg: Msg = {};
    if (f.delay) cfg.delay = { fixedDelay: protoDuration(f.delay.fixedDelay), percentage: millionths(f.delay.percentage) };
    if (f.abort) {
      const a: Msg = {};
      if (f.abort.grpcStatus !== undefined) a.grpcStatus = f.abort.grpcStatus;
      else if (f.abort.httpStatus !== undefined) a.httpStatus = f.abort.httpStatus;
      a.percentage = millionths(f.abort.percentage);
      cfg.abort = a;
    }
    return { [faultFilter]: typed('envoy.extensions.filters.http.fault.v3.HTTPFault', cfg) };
  },
};

const compressorLibraries: Record<string, { name: string; type: string }> = {
  Brotli: { name: 'envoy.compression.brotli.compressor', type: 'envoy.extensions.compression.brotli.compressor.v3.Brotli' },
  Gzip: { name: 'envoy.compression.gzip.compressor', type: 'envoy.extensions.compression.gzip.compressor.v3.Gzip' },
  Zstd: { name: 'envoy.compression.zstd.compressor', type: 'envoy.extensions.compression.zstd.compressor.v3.Zstd' },
};

function compressorName(type: string): string {
  return `envoy.filters.http.compressor.${type.toLowerCase()}`;
}

export const compressor: HTTPFeature = {
  filters(l) {
    const byType = new Map<string, Msg>();
    for (const r of l.routes ?? []) {
      for (const c of r.traffic?.compression ?? []) {
        const lib = compressorLibraries[c.type];
        if (!lib || byType.has(c.type)) continue;
        const cfg: Msg = { compressorLibrary: { name: lib.name, typedConfig: typed(lib.type) } };
        if (c.minContentLength !== undefined) cfg.responseDirectionConfig = { commonConfig: { minContentLength: c.minContentLength } };
        if (c.chooseFirst) cfg.chooseFirst = true;
        byType.set(c.type, { name: compressorName(c.type), disabled: true, typedConfig: typed('envoy.extensions.filters.http.compressor.v3.Compressor', cfg) });
      }
    }
    return [...byType.values()];
  },
  patchRoute(route, r) {
    // The upstream must answer uncompressed for the proxy to compress.
    if (r.traffic?.compression?.length) route.requestHeadersToRemove = [...(route.requestHeadersToRemove ?? []), 'accept-encoding'];
  },
  perRoute(r) {
    const cs = r.traffic?.compression;
    if (!cs?.length) return undefined;
    return Object.fromEntries(cs.filter((c) => compressorLibraries[c.type]).map((c) => [
      compressorName(c.type),
      typed('envoy.extensions.filters.http.compressor.v3.CompressorPerRoute', { overrides: { responseDirectionConfig: {} } }),
    ]));
  },
};
