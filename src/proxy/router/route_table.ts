// A RouteConfiguration compiled for lookup. Virtual hosts are found through hash maps (exact
// domains) and per-length maps (wildcards), and routes within a virtual host through an index on
// their path (exact map + radix tree of prefixes), so the cost of a lookup does not grow with the
// number of virtual hosts or routes. Route order still decides: among the candidates the index
// yields, the first route in configuration order whose whole match holds wins.
import { ConfigError } from '../config/errors.js';
import { at, bool, field, list, num, obj, str, type Json } from '../config/json.js';
import { compileHeaderMutation, type HeaderMutation } from '../http/header_mutation.js';
import { parsePerFilterConfigs, type PerFilterConfigs } from '../http/filter_registry.js';
import { compileDirect, compileForward, compileRedirect, compileRetry, type Action, type RetryPolicy } from './route_action.js';
import { compileRouteMatch, type CompiledMatch } from './route_match.js';
import type { MatchRequest } from './request.js';

export interface Route {
  name: string;
  match: CompiledMatch;
  action: Action;
  requestHeaders: HeaderMutation | undefined;
  responseHeaders: HeaderMutation | undefined;
  perFilter: PerFilterConfigs | undefined;
  virtualHost: VirtualHost;
  statPrefix: string;
  /** metadata.filter_metadata (namespace → struct), for filters that read route metadata (Lua). */
  metadata: Record<string, unknown> | undefined;
}

export interface VirtualHost {
  name: string;
  domains: string[];
  routes: Route[];
  index: PathIndex;
  requireTls: 'NONE' | 'EXTERNAL_ONLY' | 'ALL';
  requestHeaders: HeaderMutation | undefined;
  responseHeaders: HeaderMutation | undefined;
  perFilter: PerFilterConfigs | undefined;
  retry: RetryPolicy | undefined;
  table: RouteTable;
  /** metadata.filter_metadata, for filters that read virtual host metadata (Lua). */
  metadata: Record<string, unknown> | undefined;
}

export interface RouteTable {
  name: string;
  virtualHosts: VirtualHost[];
  ignorePortInHostMatching: boolean;
  requestHeaders: HeaderMutation | undefined;
  responseHeaders: HeaderMutation | undefined;
  perFilter: PerFilterConfigs | undefined;
  findVirtualHost(authority: string): VirtualHost | undefined;
  /** The route for a request, or undefined (404 from the router). */
  route(req: MatchRequest): Route | undefined;
}

export interface RouteCompileOptions {
  readFile: (path: string) => Buffer;
}

export function compileRouteConfiguration(rc: Json, opts: RouteCompileOptions, path = ''): RouteTable {
  const name = str(rc, 'name', path);
  const ignorePort = bool(rc, 'ignorePortInHostMatching', path);
  const maxBody = num(rc, 'maxDirectResponseBodySizeBytes', path, 4096)!;
  if (bool(rc, 'validateClusters', path)) { /* clusters are resolved per request; a missing one answers clusterNotFound */ }
  for (const unsupported of ['vhds', 'clusterSpecifierPlugins']) {
    if (field(rc, unsupported) !== undefined && (!Array.isArray(field(rc, unsupported)) || field(rc, unsupported).length)) {
      throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
    }
  }
  const exact = new Map<string, VirtualHost>();
  const suffix = new Map<number, Map<string, VirtualHost>>();
  const prefix = new Map<number, Map<string, VirtualHost>>();
  let any: VirtualHost | undefined;
  const vhosts: VirtualHost[] = [];
  const table: RouteTable = {
    name,
    virtualHosts: vhosts,
    ignorePortInHostMatching: ignorePort,
    requestHeaders: compileHeaderMutation(rc, 'requestHeadersToAdd', 'requestHeadersToRemove', path),
    responseHeaders: compileHeaderMutation(rc, 'responseHeadersToAdd', 'responseHeadersToRemove', path),
    perFilter: parsePerFilterConfigs(obj(rc, 'typedPerFilterConfig', path), at(path, 'typedPerFilterConfig')),
    findVirtualHost,
    route(req) {
      const vh = findVirtualHost(req.authority);
      return vh ? vh.index.find(req) : undefined;
    },
  };

  list(rc, 'virtualHosts', path).forEach((v: Json, i: number) => {
    const vp = at(at(path, 'virtualHosts'), i);
    const vh = compileVirtualHost(v, vp, table, opts, maxBody);
    vhosts.push(vh);
    vh.domains.forEach((d, j) => {
      const dp = at(at(vp, 'domains'), j);
      const dup = () => new ConfigError(dp, `only unique values for domains are permitted: ${d} is in more than one virtual host`);
      if (d === '*') {
        if (any) throw dup();
        any = vh;
      } else if (d.startsWith('*')) {
        const s = d.slice(1);
        let m = suffix.get(s.length);
        if (!m) suffix.set(s.length, (m = new Map()));
        if (m.has(s)) throw dup();
        m.set(s, vh);
      } else if (d.endsWith('*')) {
        const p = d.slice(0, -1);
        let m = prefix.get(p.length);
        if (!m) prefix.set(p.length, (m = new Map()));
        if (m.has(p)) throw dup();
        m.set(p, vh);
      } else {
        if (d.includes('*')) throw new ConfigError(dp, `a wildcard may only be the first or last character: ${d}`);
        if (exact.has(d)) throw dup();
        exact.set(d, vh);
      }
    });
  });
  // Longest wildcard first, as Envoy searches them.
  const suffixLengths = [...suffix.keys()].sort((a, b) => b - a);
  const prefixLengths = [...prefix.keys()].sort((a, b) => b - a);

  function findVirtualHost(authority: string): VirtualHost | undefined {
    if (vhosts.length === 1 && any) return any;
    let host = lowerAscii(authority);
    if (ignorePort) host = stripPort(host);
    const e = exact.get(host);
    if (e) return e;
    // A wildcard stands for at least one character.
    for (const len of suffixLengths) {
      if (len >= host.length) continue;
      const vh = suffix.get(len)!.get(host.slice(host.length - len));
      if (vh) return vh;
    }
    for (const len of prefixLengths) {
      if (len >= host.length) continue;
      const vh = prefix.get(len)!.get(host.slice(0, len));
      if (vh) return vh;
    }
    return any;
  }
  return table;
}

function compileVirtualHost(v: Json, path: string, table: RouteTable, opts: RouteCompileOptions, maxBody: number): VirtualHost {
  const domains = list(v, 'domains', path).map((d: unknown, j: number) => {
    // An empty domain is allowed (it matches an empty Host), as in Envoy.
    if (typeof d !== 'string') throw new ConfigError(at(at(path, 'domains'), j), 'expected a domain');
    return d.toLowerCase();
  });
  if (!domains.length) throw new ConfigError(at(path, 'domains'), 'at least one domain is required');
  for (const unsupported of ['virtualClusters', 'rateLimits', 'hedgePolicy', 'matcher']) {
    const val = field(v, unsupported);
    if (unsupported === 'rateLimits') continue; // consumed by the rate limit filter when present
    if (val !== undefined && (!Array.isArray(val) || val.length)) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  if (field(v, 'cors') !== undefined) throw new ConfigError(at(path, 'cors'), 'the deprecated virtual host cors field is not supported; use typedPerFilterConfig');
  const vh: VirtualHost = {
    name: str(v, 'name', path),
    domains,
    routes: [],
    index: undefined as unknown as PathIndex,
    requireTls: (str(v, 'requireTls', path, 'NONE') as VirtualHost['requireTls']),
    requestHeaders: compileHeaderMutation(v, 'requestHeadersToAdd', 'requestHeadersToRemove', path),
    responseHeaders: compileHeaderMutation(v, 'responseHeadersToAdd', 'responseHeadersToRemove', path),
    perFilter: parsePerFilterConfigs(obj(v, 'typedPerFilterConfig', path), at(path, 'typedPerFilterConfig')),
    retry: compileRetry(obj(v, 'retryPolicy', path), at(path, 'retryPolicy')),
    table,
    metadata: obj(obj(v, 'metadata', path) ?? {}, 'filterMetadata', at(path, 'metadata')),
  };
  list(v, 'routes', path).forEach((r: Json, i: number) => vh.routes.push(compileRoute(r, at(at(path, 'routes'), i), vh, opts, maxBody)));
  vh.index = new PathIndex(vh.routes);
  return vh;
}

function compileRoute(r: Json, path: string, vh: VirtualHost, opts: RouteCompileOptions, maxBody: number): Route {
  const m = obj(r, 'match', path);
  if (!m) throw new ConfigError(at(path, 'match'), 'required');
  const match = compileRouteMatch(m, at(path, 'match'));
  let action: Action;
  const ra = obj(r, 'route', path);
  const redirect = obj(r, 'redirect', path);
  const direct = obj(r, 'directResponse', path);
  if (ra) action = compileForward(ra, at(path, 'route'), opts.readFile);
  else if (redirect) action = compileRedirect(redirect, at(path, 'redirect'));
  else if (direct) action = compileDirect(direct, at(path, 'directResponse'), opts.readFile, maxBody);
  else if (field(r, 'filterAction') !== undefined || field(r, 'nonForwardingAction') !== undefined) {
    throw new ConfigError(path, 'filter and non-forwarding route actions are not supported');
  } else throw new ConfigError(path, 'one of route, redirect or directResponse is required');
  return {
    name: str(r, 'name', path),
    match,
    action,
    requestHeaders: compileHeaderMutation(r, 'requestHeadersToAdd', 'requestHeadersToRemove', path),
    responseHeaders: compileHeaderMutation(r, 'responseHeadersToAdd', 'responseHeadersToRemove', path),
    perFilter: parsePerFilterConfigs(obj(r, 'typedPerFilterConfig', path), at(path, 'typedPerFilterConfig')),
    virtualHost: vh,
    statPrefix: str(r, 'statPrefix', path),
    metadata: obj(obj(r, 'metadata', path) ?? {}, 'filterMetadata', at(path, 'metadata')),
  };
}

/** Radix tree node over path prefixes; `routes` are the indices of routes whose literal ends here. */
interface TrieNode {
  label: string;
  children: Map<number, TrieNode> | undefined;
  routes: number[] | undefined;
}

/**
 * Index of a virtual host's routes by path literal. A lookup collects the routes whose path
 * could match (exact map hit, every prefix along the request path, plus regex and
 * case-insensitive routes) and returns the lowest-numbered one whose full match holds.
 */
export class PathIndex {
  private readonly exact = new Map<string, number[]>();
  private readonly root: TrieNode = { label: '', children: undefined, routes: undefined };
  private readonly others: number[] = [];

  constructor(private readonly routes: Route[]) {
    routes.forEach((r, i) => {
      const m = r.match;
      if (!m.caseSensitive || m.pathKind === 'regex' || m.pathKind === 'connect' || m.pathKind === 'any') this.others.push(i);
      else if (m.pathKind === 'path') {
        let l = this.exact.get(m.pathLiteral);
        if (!l) this.exact.set(m.pathLiteral, (l = []));
        l.push(i);
      } else insert(this.root, m.pathLiteral, i);
    });
  }

  find(req: MatchRequest): Route | undefined {
    const routes = this.routes;
    // A single route (the common gateway shape) needs no index.
    if (routes.length === 1) return routes[0]!.match.matches(req) ? routes[0] : undefined;
    let best = routes.length;
    const p = req.pathOnly;
    const ex = this.exact.get(p);
    if (ex) best = firstMatch(routes, ex, best, req);
    let node: TrieNode | undefined = this.root;
    let i = 0;
    while (node) {
      if (node.routes && node.routes[0]! < best) best = firstMatch(routes, node.routes, best, req);
      if (!node.children || i >= p.length) break;
      const child: TrieNode | undefined = node.children.get(p.charCodeAt(i));
      if (!child || !p.startsWith(child.label, i)) break;
      i += child.label.length;
      node = child;
    }
    if (this.others.length && this.others[0]! < best) best = firstMatch(routes, this.others, best, req);
    return best < routes.length ? routes[best] : undefined;
  }
}

/** The first (lowest) index in `candidates` below `best` whose route matches, else `best`. */
function firstMatch(routes: Route[], candidates: number[], best: number, req: MatchRequest): number {
  for (const idx of candidates) {
    if (idx >= best) break;
    if (routes[idx]!.match.matches(req)) return idx;
  }
  return best;
}

function insert(root: TrieNode, key: string, idx: number): void {
  let node = root;
  let i = 0;
  while (i < key.length) {
    node.children ??= new Map();
    const c = key.charCodeAt(i);
    const child = node.children.get(c);
    if (!child) {
      const leaf: TrieNode = { label: key.slice(i), children: undefined, routes: [idx] };
      node.children.set(c, leaf);
      return;
    }
    // Length of the common prefix of the child's label and the rest of the key.
    let n = 0;
    while (n < child.label.length && i + n < key.length && child.label.charCodeAt(n) === key.charCodeAt(i + n)) n++;
    if (n < child.label.length) {
      // Split the edge at n.
      const tail: TrieNode = { label: child.label.slice(n), children: child.children, routes: child.routes };
      child.label = child.label.slice(0, n);
      child.children = new Map([[tail.label.charCodeAt(0), tail]]);
      child.routes = undefined;
    }
    i += n;
    node = child;
  }
  (node.routes ??= []).push(idx);
}

function lowerAscii(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) return s.toLowerCase();
  }
  return s;
}

/** Removes a trailing :port (keeping IPv6 brackets' content intact). */
export function stripPort(host: string): string {
  const colon = host.lastIndexOf(':');
  if (colon < 0) return host;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    return close >= 0 && colon > close ? host.slice(0, colon) : host;
  }
  // Bare IPv6 addresses have several colons and no port.
  return host.indexOf(':') === colon ? host.slice(0, colon) : host;
}
