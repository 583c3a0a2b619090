// envoy.filters.http.stateful_session: session persistence. The request's session (a cookie, or
// a header) names the upstream host that served the session before; the router sends the
// request there when that host is in the route's cluster and may take requests, else the load
// balancer picks (or, strict, the request fails with 503). When the host that answered is not
// the one the session named, the response carries the new session: a Set-Cookie (name, path,
// Max-Age from the ttl, HttpOnly) or the header. The value is the host's address ("ip:port"),
// base64-encoded. Envoy Gateway installs the filter disabled and gives each route with session
// persistence its own StatefulSessionPerRoute.
import { ConfigError } from '../../config/errors.js';
import { anyType, at, bool, durationMs, list, obj, str, type Json } from '../../config/json.js';
import { cookies } from '../../router/request.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, setHeader, validHeaderName, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';

const CONFIG_TYPE = 'envoy.extensions.filters.http.stateful_session.v3.StatefulSession';
const PER_ROUTE_TYPE = 'envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute';
const COOKIE = 'envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState';
const HEADER = 'envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState';

/** Where a session lives: reading it from a request, writing it into a response. */
interface SessionState {
  read(s: HttpStream): string | undefined;
  /** Whether this request is in the session's scope (a cookie's path). */
  applies(s: HttpStream): boolean;
  write(headers: HeaderList, value: string): void;
}

interface SessionConfig {
  state: SessionState | undefined;
  strict: boolean;
}

const encode = (address: string) => Buffer.from(address).toString('base64');
// Whatever a client sends decodes to some string; one that names no host of the cluster is ignored.
const decode = (v: string) => Buffer.from(v, 'base64').toString() || undefined;

function cookieState(c: Json, path: string): SessionState {
  const ck = obj(c, 'cookie', path);
  if (!ck) throw new ConfigError(at(path, 'cookie'), 'required');
  const cp = at(path, 'cookie');
  const name = str(ck, 'name', cp);
  if (!name || !validHeaderName(name)) throw new ConfigError(at(cp, 'name'), 'a cookie name is required');
  const cookiePath = str(ck, 'path', cp);
  const ttlMs = durationMs(ck, 'ttl', cp);
  let suffix = '';
  if (ttlMs !== undefined) suffix += `; Max-Age=${Math.floor(ttlMs / 1000)}`;
  if (cookiePath) suffix += `; Path=${cookiePath}`;
  list(ck, 'attributes', cp).forEach((a: Json, i: number) => {
    const ap = at(at(cp, 'attributes'), i);
    const an = str(a, 'name', ap);
    if (!an) throw new ConfigError(at(ap, 'name'), 'required');
    const av = str(a, 'value', ap);
    suffix += av ? `; ${an}=${av}` : `; ${an}`;
  });
  suffix += '; HttpOnly';
  // A cookie with a path covers that path and what is under it (RFC 6265 path-match).
  const prefix = cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`;
  const applies = !cookiePath || cookiePath === '/'
    ? () => true
    : (s: HttpStream) => {
      const q = s.path.indexOf('?');
      const p = q < 0 ? s.path : s.path.slice(0, q);
      return p === cookiePath || p.startsWith(prefix);
    };
  return {
    applies,
    read: (s) => cookies(s).get(name),
    write: (h, v) => { h.push('set-cookie', `${name}="${v}"${suffix}`); },
  };
}

function headerState(c: Json, path: string): SessionState {
  const name = str(c, 'name', path).toLowerCase();
  if (!name || !validHeaderName(name)) throw new ConfigError(at(path, 'name'), 'a header name is required');
  return {
    applies: () => true,
    read: (s) => getHeader(s.headers, name),
    write: (h, v) => setHeader(h, name, v),
  };
}

function compile(c: Json, path: string): SessionConfig {
  const strict = bool(c, 'strict', path);
  const ss = obj(c, 'sessionState', path);
  if (!ss) return { state: undefined, strict };
  const sp = at(path, 'sessionState');
  const tc = obj(ss, 'typedConfig', sp);
  const tp = at(sp, 'typedConfig');
  if (!tc) throw new ConfigError(tp, 'required');
  const type = anyType(tc, tp);
  if (type === COOKIE) return { state: cookieState(tc, tp), strict };
  if (type === HEADER) return { state: headerState(tc, tp), strict };
  throw new ConfigError(tp, `unsupported session state ${type}`);
}

const DISABLED: SessionConfig = { state: undefined, strict: false };

/** StatefulSessionPerRoute: disabled, or the route's own session config. */
function compilePerRoute(c: Json, path: string): SessionConfig {
  if (bool(c, 'disabled', path)) return DISABLED;
  const ss = obj(c, 'statefulSession', path);
  if (!ss) throw new ConfigError(path, 'one of disabled or stateful_session is required');
  return compile(ss, at(path, 'statefulSession'));
}

/** What a stream's session said, for the response. */
interface Session { state: SessionState; address: string | undefined }

class StatefulSessionFilter implements HttpFilter {
  constructor(readonly name: string, private readonly config: SessionConfig) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const c = (s.perFilterConfig(this.name)?.config as SessionConfig | undefined) ?? this.config;
    const state = c.state;
    if (!state || !state.applies(s)) return FilterStatus.Continue;
    const raw = state.read(s);
    const address = raw ? decode(raw) : undefined;
    if (address) s.upstreamOverride = { address, strict: c.strict };
    (s.filterState ??= new Map()).set(this, { state, address } satisfies Session);
    return FilterStatus.Continue;
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): FilterStatus {
    const session = s.filterState?.get(this) as Session | undefined;
    // A response from an upstream host other than the session's starts (or moves) the session.
    if (session && s.upstreamHost && !s.localReply && s.upstreamHost !== session.address) session.state.write(headers, encode(s.upstreamHost));
    return FilterStatus.Continue;
  }
}

registerHttpFilter({
  configType: CONFIG_TYPE,
  create: (name, c, path) => new StatefulSessionFilter(name, compile(c, path)),
  perRoute: { [PER_ROUTE_TYPE]: compilePerRoute },
});
