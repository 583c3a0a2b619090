// envoy.filters.http.cors: answers CORS preflight requests at the proxy and adds the CORS
// response headers to actual requests, from the route's (or virtual host's) CorsPolicy.
import { ConfigError } from '../../config/errors.js';
import { at, bool, field, fraction, list, obj, str, type Json } from '../../config/json.js';
import { compileStringMatcher, type StringMatch } from '../../router/string_match.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';

interface CorsPolicy {
  origins: StringMatch[];
  allowMethods: string;
  allowHeaders: string;
  exposeHeaders: string;
  maxAge: string;
  allowCredentials: boolean;
  allowPrivateNetworkAccess: boolean;
  forwardNotMatchingPreflights: boolean;
  enabled: number;
}

function parsePolicy(c: Json, path: string): CorsPolicy {
  const origins = list(c, 'allowOriginStringMatch', path).map((m: Json, i: number) => compileStringMatcher(m, at(at(path, 'allowOriginStringMatch'), i)));
  const fe = obj(c, 'filterEnabled', path);
  const maxAge = field(c, 'maxAge');
  if (maxAge !== undefined && !/^\d*$/.test(String(maxAge))) throw new ConfigError(at(path, 'maxAge'), 'must be a number of seconds');
  return {
    origins,
    allowMethods: str(c, 'allowMethods', path),
    allowHeaders: str(c, 'allowHeaders', path),
    exposeHeaders: str(c, 'exposeHeaders', path),
    maxAge: maxAge === undefined ? '' : String(maxAge),
    allowCredentials: bool(c, 'allowCredentials', path),
    allowPrivateNetworkAccess: bool(c, 'allowPrivateNetworkAccess', path),
    forwardNotMatchingPreflights: bool(c, 'forwardNotMatchingPreflights', path, true),
    enabled: fe ? fraction(fe, at(path, 'filterEnabled')) : 1,
  };
}

class CorsFilter implements HttpFilter {
  constructor(readonly name: string) {}

  private policy(s: HttpStream): CorsPolicy | undefined {
    const p = s.perFilterConfig(this.name)?.config as CorsPolicy | undefined;
    if (!p || (p.enabled < 1 && Math.random() >= p.enabled)) return undefined;
    return p;
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    const origin = getHeader(s.headers, 'origin');
    if (!origin) return FilterStatus.Continue;
    const p = this.policy(s);
    if (!p) return FilterStatus.Continue;
    const allowed = p.origins.some((m) => m(origin));
    const preflight = s.method === 'OPTIONS' && getHeader(s.headers, 'access-control-request-method') !== undefined;
    if (!preflight) return FilterStatus.Continue;
    if (!allowed) {
      if (p.forwardNotMatchingPreflights) return FilterStatus.Continue;
      s.sendLocalReply(200, '', 'cors_response');
      return FilterStatus.Stop;
    }
    const h: HeaderList = ['access-control-allow-origin', origin];
    if (p.allowCredentials) h.push('access-control-allow-credentials', 'true');
    if (p.allowMethods) h.push('access-control-allow-methods', p.allowMethods);
    if (p.allowHeaders) h.push('access-control-allow-headers', p.allowHeaders);
    if (p.maxAge) h.push('access-control-max-age', p.maxAge);
    if (p.allowPrivateNetworkAccess && getHeader(s.headers, 'access-control-request-private-network') === 'true') {
      h.push('access-control-allow-private-network', 'true');
    }
    s.sendLocalReply(200, '', 'cors_response', h);
    return FilterStatus.Stop;
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    const origin = getHeader(s.headers, 'origin');
    if (!origin) return;
    if (s.method === 'OPTIONS' && getHeader(s.headers, 'access-control-request-method') !== undefined) return;
    const p = this.policy(s);
    if (!p || !p.origins.some((m) => m(origin))) return;
    setHeader(headers, 'access-control-allow-origin', origin);
    if (p.allowCredentials) setHeader(headers, 'access-control-allow-credentials', 'true');
    if (p.exposeHeaders) setHeader(headers, 'access-control-expose-headers', p.exposeHeaders);
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.cors.v3.Cors',
  create: (name) => new CorsFilter(name),
  perRoute: { 'envoy.extensions.filters.http.cors.v3.CorsPolicy': parsePolicy },
});
