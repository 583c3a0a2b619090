// envoy.filters.http.api_key_auth: the client is whoever owns the API key found in the first
// configured place that has one (a header, with an optional "Bearer " prefix; a query
// parameter; a cookie). Unknown or missing keys get 401, clients a route does not allow get
// 403; the client id may be forwarded upstream and the key hidden from it. A route's
// ApiKeyAuthPerRoute replaces the credentials, key sources and forwarding it sets.
import { ConfigError } from '../../config/errors.js';
import { at, bool, list, obj, str, type Json } from '../../config/json.js';
import { cookies, queryParams } from '../../router/request.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, removeHeader, setHeader } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { FilterStats, removeCookie, removeQueryParam } from './auth_common.js';

type KeySource = { kind: 'header' | 'query' | 'cookie'; name: string };

interface ApiKeyConfig {
  /** Key → client id. */
  credentials: Map<string, string> | undefined;
  sources: KeySource[] | undefined;
  forwarding: { header: string; hideCredentials: boolean } | undefined;
}

interface PerRoute extends ApiKeyConfig {
  allowedClients: Set<string> | undefined;
}

function parseConfig(c: Json, path: string): ApiKeyConfig {
  let credentials: Map<string, string> | undefined;
  // Repeated fields have no presence: an empty list leaves the other level's setting in force.
  if (list(c, 'credentials', path).length) {
    credentials = new Map();
    list(c, 'credentials', path).forEach((cr: Json, i: number) => {
      const p = at(at(path, 'credentials'), i);
      const key = str(cr, 'key', p);
      const client = str(cr, 'client', p);
      if (!key) throw new ConfigError(at(p, 'key'), 'required');
      if (!client) throw new ConfigError(at(p, 'client'), 'required');
      if (credentials!.has(key)) throw new ConfigError(at(p, 'key'), 'duplicate API key');
      credentials!.set(key, client);
    });
  }
  let sources: KeySource[] | undefined;
  if (list(c, 'keySources', path).length) {
    sources = list(c, 'keySources', path).map((k: Json, i: number): KeySource => {
      const p = at(at(path, 'keySources'), i);
      const header = str(k, 'header', p);
      if (header) return { kind: 'header', name: header.toLowerCase() };
      const query = str(k, 'query', p);
      if (query) return { kind: 'query', name: query };
      const cookie = str(k, 'cookie', p);
      if (cookie) return { kind: 'cookie', name: cookie };
      throw new ConfigError(p, "one of 'header'/'query'/'cookie' must be set");
    });
  }
  const f = obj(c, 'forwarding', path);
  const forwarding = f ? { header: str(f, 'header', at(path, 'forwarding')).toLowerCase(), hideCredentials: bool(f, 'hideCredentials', at(path, 'forwarding')) } : undefined;
  return { credentials, sources, forwarding };
}

function keyOf(s: HttpStream, sources: KeySource[]): string | undefined {
  for (const src of sources) {
    let v: string | undefined;
    if (src.kind === 'header') {
      v = getHeader(s.headers, src.name);
      if (v?.startsWith('Bearer ')) v = v.slice(7);
    } else if (src.kind === 'query') v = queryParams(s).get(src.name);
    else v = cookies(s).get(src.name);
    if (v) return v;
  }
  return undefined;
}

const STATS = ['allowed', 'unauthorized', 'forbidden'] as const;

class ApiKeyAuthFilter implements HttpFilter {
  private readonly stats = new FilterStats('api_key_auth.', STATS);

  constructor(readonly name: string, private readonly config: ApiKeyConfig) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const route = s.perFilterConfig(this.name)?.config as PerRoute | undefined;
    const credentials = route?.credentials ?? this.config.credentials;
    const sources = route?.sources ?? this.config.sources;
    const forwarding = route?.forwarding ?? this.config.forwarding;
    if (!sources) return this.deny(s, 401, 'Client authentication failed.', 'missing_key_sources');
    if (!credentials) return this.deny(s, 401, 'Client authentication failed.', 'missing_credentials');
    const key = keyOf(s, sources);
    if (!key) return this.deny(s, 401, 'Client authentication failed.', 'missing_api_key');
    const client = credentials.get(key);
    if (client === undefined) return this.deny(s, 401, 'Client authentication failed.', 'unkonwn_api_key');
    if (route?.allowedClients && !route.allowedClients.has(client)) return this.deny(s, 403, 'Client is forbidden.', 'client_not_allowed');
    if (forwarding) {
      if (forwarding.header) setHeader(s.headers, forwarding.header, client);
      if (forwarding.hideCredentials) {
        for (const src of sources) {
          if (src.kind === 'header') removeHeader(s.headers, src.name);
          else if (src.kind === 'query') removeQueryParam(s, src.name);
          else removeCookie(s, src.name);
        }
      }
    }
    this.stats.of(s).allowed.value++;
    return FilterStatus.Continue;
  }

  private deny(s: HttpStream, status: 401 | 403, body: string, details: string): FilterStatus {
    this.stats.of(s)[status === 401 ? 'unauthorized' : 'forbidden'].value++;
    s.sendLocalReply(status, body, details);
    return FilterStatus.Stop;
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth',
  create: (name: string, c: Json, path: string) => new ApiKeyAuthFilter(name, parseConfig(c, path)),
  perRoute: {
    'envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuthPerRoute': (c: Json, path: string): PerRoute => {
      const allowed = list(c, 'allowedClients', path);
      return { ...parseConfig(c, path), allowedClients: allowed.length ? new Set(allowed.map(String)) : undefined };
    },
  },
});
