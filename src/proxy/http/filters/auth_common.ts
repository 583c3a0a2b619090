// What the security filters share: the request URI Envoy puts in WWW-Authenticate realms, the
// per-HCM counters a filter resolves once, the client address as the connection manager trusts
// it, and removing a credential from a cookie or query string.
import { counter, type Counter } from '../../stats.js';
import { getHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';

/** scheme://host/path?query of the request as received (Envoy's buildOriginalUri), path capped. */
export function originalUri(s: HttpStream, maxPathLength = 256): string {
  const path = s.originalPath.length > maxPathLength ? s.originalPath.slice(0, maxPathLength) : s.originalPath;
  return `${s.scheme}://${s.authority}${path}`;
}

/**
 * Counters named `http.<stat_prefix>.<prefix><name>`, resolved on a filter's first request: a
 * filter instance belongs to one connection manager, so they are looked up once.
 */
export class FilterStats<K extends string> {
  private resolved: Record<K, Counter> | undefined;
  constructor(private readonly prefix: string, private readonly names: readonly K[]) {}

  of(s: HttpStream): Record<K, Counter> {
    if (this.resolved) return this.resolved;
    const out = {} as Record<K, Counter>;
    for (const n of this.names) out[n] = counter(`http.${s.hcm.statPrefix}.${this.prefix}${n}`);
    return (this.resolved = out);
  }
}

/**
 * The client's address as Envoy's connection manager determines it: the peer address with
 * use_remote_address and no trusted hops; with use_remote_address and N trusted hops, the Nth
 * x-forwarded-for entry from the right as the client sent it (the proxy has appended the peer
 * since, unless skip_xff_append); without use_remote_address, the (N+1)th from the right.
 */
export function trustedClientAddress(s: HttpStream): string {
  const hcm = s.hcm;
  const peer = s.downstream.remoteAddress;
  if (hcm.useRemoteAddress && hcm.xffNumTrustedHops === 0) return peer;
  const xff = getHeader(s.headers, 'x-forwarded-for');
  if (!xff) return peer;
  const parts = xff.split(',');
  const fromRight = hcm.useRemoteAddress && hcm.skipXffAppend ? hcm.xffNumTrustedHops - 1 : hcm.xffNumTrustedHops;
  const i = parts.length - 1 - fromRight;
  if (i < 0) return peer;
  return parts[i]!.trim() || peer;
}

/** Removes one cookie from the Cookie header(s), dropping a header left empty. */
export function removeCookie(s: HttpStream, name: string): void {
  const h = s.headers;
  for (let i = 0; i < h.length; i += 2) {
    if (h[i] !== 'cookie') continue;
    const kept = h[i + 1]!.split(';').filter((p) => {
      const eq = p.indexOf('=');
      return (eq < 0 ? p : p.slice(0, eq)).trim() !== name;
    });
    if (kept.length) h[i + 1] = kept.map((p) => p.trim()).join('; ');
    else { h.splice(i, 2); i -= 2; }
  }
  s.cookies = undefined;
}

/** Removes a query parameter (every occurrence) from the request path. */
export function removeQueryParam(s: HttpStream, name: string): void {
  const q = s.path.indexOf('?');
  if (q < 0) return;
  const kept = s.path.slice(q + 1).split('&').filter((p) => {
    const eq = p.indexOf('=');
    const k = eq < 0 ? p : p.slice(0, eq);
    let key = k;
    try { key = decodeURIComponent(k.replace(/\+/g, ' ')); } catch { /* keep the raw name */ }
    return key !== name;
  });
  s.path = kept.length ? `${s.path.slice(0, q)}?${kept.join('&')}` : s.path.slice(0, q);
  s.queryParams = undefined;
}

/** Sets a request header, as filters that forward an identity do. */
export function setRequestHeader(h: HeaderList, name: string, value: string): void {
  setHeader(h, name.toLowerCase(), value);
}

/** envoy.type.v3.StatusCode names, as the JSON mapping writes an HttpStatus. */
const STATUS_NAMES: Record<string, number> = {
  Continue: 100, OK: 200, Created: 201, Accepted: 202, NoContent: 204, MovedPermanently: 301, Found: 302, SeeOther: 303, NotModified: 304,
  TemporaryRedirect: 307, PermanentRedirect: 308, BadRequest: 400, Unauthorized: 401, PaymentRequired: 402, Forbidden: 403, NotFound: 404,
  MethodNotAllowed: 405, NotAcceptable: 406, RequestTimeout: 408, Conflict: 409, Gone: 410, PreconditionFailed: 412, PayloadTooLarge: 413,
  UnsupportedMediaType: 415, TooManyRequests: 429, InternalServerError: 500, NotImplemented: 501, BadGateway: 502, ServiceUnavailable: 503,
  GatewayTimeout: 504,
};

/** An HttpStatus code (enum name or number) as a number; undefined when it is not one. */
export function httpStatusCode(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? (STATUS_NAMES[v] ?? Number(v)) : NaN;
  return Number.isInteger(n) && n >= 100 && n <= 599 ? n : undefined;
}
