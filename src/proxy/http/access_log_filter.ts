// envoy.config.accesslog.v3.AccessLogFilter compiled to a predicate on what is being logged
// (an HTTP stream, a TCP connection, a UDP session or a listener's connection): status code,
// duration, response flags, request headers, gRPC status, health check and sampling filters,
// combined with and/or. A filter this proxy cannot evaluate (CEL, metadata) is refused.
import { ConfigError } from '../config/errors.js';
import { at, bool, enumOf, field, fraction, list, numOr, obj, str, type Json } from '../config/json.js';
import type { MatchRequest } from '../router/request.js';
import { compileHeaderMatcher } from '../router/route_match.js';
import { getHeader } from './headers.js';
import type { StreamInfo } from './stream_info.js';

export type AccessLogPredicate = (info: StreamInfo) => boolean;

const GRPC_STATUS = ['OK', 'CANCELED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'] as const;

/** Envoy's response flag short names (what %RESPONSE_FLAGS% prints), which response_flag_filter lists. */
const RESPONSE_FLAGS = new Set(['LH', 'UH', 'UT', 'LR', 'UR', 'UF', 'UC', 'UO', 'NR', 'DI', 'FI', 'RL', 'UAEX', 'RLSE', 'DC', 'URX', 'SI', 'IH',
  'DPE', 'UMSDR', 'RFCF', 'NFCF', 'DT', 'UPE', 'NC', 'OM', 'DF', 'DO', 'DR']);

function comparison(f: Json, path: string): (v: number) => boolean {
  const c = obj(f, 'comparison', path);
  if (!c) throw new ConfigError(at(path, 'comparison'), 'required');
  const cp = at(path, 'comparison');
  const op = enumOf(c, 'op', cp, ['EQ', 'GE', 'LE', 'NE'] as const, 'EQ');
  const value = obj(c, 'value', cp);
  const n = value ? numOr(value, 'defaultValue', at(cp, 'value'), 0) : 0;
  switch (op) {
    case 'EQ': return (v) => v === n;
    case 'GE': return (v) => v >= n;
    case 'LE': return (v) => v <= n;
    case 'NE': return (v) => v !== n;
  }
}

function asRequest(i: StreamInfo): MatchRequest {
  const q = i.originalPath.indexOf('?');
  return {
    method: i.method, path: i.originalPath, pathOnly: q < 0 ? i.originalPath : i.originalPath.slice(0, q), authority: i.authority,
    scheme: i.downstream.tls ? 'https' : 'http', headers: i.requestHeaders, tls: i.downstream.tls, peerCertPresented: i.downstream.peerCertificate !== undefined,
  };
}

/** The gRPC status of a response: trailers, else headers (trailers-only), else from the HTTP status. */
function grpcStatus(i: StreamInfo): number | undefined {
  const s = (i.responseTrailers && getHeader(i.responseTrailers, 'grpc-status')) ?? (i.responseHeaders && getHeader(i.responseHeaders, 'grpc-status'));
  if (s !== undefined && /^\d+$/.test(s)) return Number(s);
  if (!i.responseCode) return undefined;
  // gRPC's mapping of HTTP statuses for responses without a grpc-status.
  switch (i.responseCode) {
    case 400: return 13;
    case 401: return 16;
    case 403: return 7;
    case 404: return 12;
    case 429: case 502: case 503: case 504: return 14;
    default: return 2;
  }
}

export function compileAccessLogFilter(f: Json, path: string): AccessLogPredicate {
  const sc = obj(f, 'statusCodeFilter', path);
  if (sc) { const cmp = comparison(sc, at(path, 'statusCodeFilter')); return (i) => cmp(i.responseCode); }
  const df = obj(f, 'durationFilter', path);
  if (df) { const cmp = comparison(df, at(path, 'durationFilter')); return (i) => cmp(Date.now() - i.startTime); }
  if (obj(f, 'notHealthCheckFilter', path)) return (i) => i.responseCodeDetails !== 'health_check';
  // This proxy does not trace: nothing is traceable.
  if (obj(f, 'traceableFilter', path)) return () => false;
  const rt = obj(f, 'runtimeFilter', path);
  if (rt) {
    const p = fraction(obj(rt, 'percentSampled', at(path, 'runtimeFilter')) ?? { numerator: 0 }, at(path, 'runtimeFilter.percentSampled'));
    return () => Math.random() < p;
  }
  for (const combiner of ['andFilter', 'orFilter'] as const) {
    const c = obj(f, combiner, path);
    if (!c) continue;
    const cp = at(path, combiner);
    const parts = list(c, 'filters', cp).map((x: Json, i: number) => compileAccessLogFilter(x, at(at(cp, 'filters'), i)));
    if (parts.length < 2) throw new ConfigError(at(cp, 'filters'), 'at least two filters are required');
    return combiner === 'andFilter' ? (i) => parts.every((p) => p(i)) : (i) => parts.some((p) => p(i));
  }
  const hf = obj(f, 'headerFilter', path);
  if (hf) {
    const h = obj(hf, 'header', at(path, 'headerFilter'));
    if (!h) throw new ConfigError(at(path, 'headerFilter.header'), 'required');
    const m = compileHeaderMatcher(h, at(path, 'headerFilter.header'));
    return (i) => m(asRequest(i));
  }
  const rf = obj(f, 'responseFlagFilter', path);
  if (rf) {
    const flags = list(rf, 'flags', at(path, 'responseFlagFilter')).map(String);
    flags.forEach((fl, n) => { if (!RESPONSE_FLAGS.has(fl)) throw new ConfigError(at(at(path, 'responseFlagFilter.flags'), n), `unknown response flag ${fl}`); });
    // No flags listed: any response flag.
    if (!flags.length) return (i) => i.responseFlags !== '';
    const wanted = new Set(flags);
    return (i) => i.responseFlags !== '' && i.responseFlags.split(',').some((fl) => wanted.has(fl));
  }
  const gf = obj(f, 'grpcStatusFilter', path);
  if (gf) {
    const gp = at(path, 'grpcStatusFilter');
    const statuses = new Set(list(gf, 'statuses', gp).map((s: unknown, n: number) => {
      const idx = typeof s === 'number' ? s : (GRPC_STATUS as readonly string[]).indexOf(String(s));
      if (idx < 0 || idx >= GRPC_STATUS.length) throw new ConfigError(at(at(gp, 'statuses'), n), `unknown gRPC status ${String(s)}`);
      return idx;
    }));
    const exclude = bool(gf, 'exclude', gp);
    return (i) => {
      const s = grpcStatus(i);
      if (s === undefined) return false;
      return statuses.has(s) !== exclude;
    };
  }
  for (const unsupported of ['extensionFilter', 'metadataFilter', 'logTypeFilter']) {
    if (field(f, unsupported) !== undefined) {
      const ef = obj(f, unsupported, path);
      const name = ef ? str(ef, 'name', at(path, unsupported)) : '';
      throw new ConfigError(at(path, unsupported), `access log ${unsupported}${name ? ` ${name}` : ''} is not supported`);
    }
  }
  throw new ConfigError(path, 'an access log filter needs one filter specifier');
}
