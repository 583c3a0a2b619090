// envoy.config.route.v3.RouteMatch compiled into a predicate over a MatchRequest. The path part
// is also exposed (kind + literal) so the route table can index routes by path and only run the
// full predicate on candidates.
import { ConfigError } from '../config/errors.js';
import { at, bool, field, fraction, list, num, obj, str, type Json } from '../config/json.js';
import { getJoined } from '../http/headers.js';
import { compileRegex } from './regex.js';
import { cookies, queryParams, type MatchRequest } from './request.js';
import { compileStringMatcher, type StringMatch } from './string_match.js';

export type PathKind = 'prefix' | 'path' | 'separated' | 'regex' | 'connect' | 'any';

export interface CompiledMatch {
  pathKind: PathKind;
  /** The literal of prefix / path / separated kinds. */
  pathLiteral: string;
  caseSensitive: boolean;
  /** Full predicate, path included. */
  matches(req: MatchRequest): boolean;
}

type Pred = (req: MatchRequest) => boolean;

export function compileRouteMatch(m: Json, path: string): CompiledMatch {
  const caseSensitive = bool(m, 'caseSensitive', path, true);
  const preds: Pred[] = [];
  let pathKind: PathKind;
  let pathLiteral = '';
  const prefix = field(m, 'prefix');
  const exact = field(m, 'path');
  const separated = field(m, 'pathSeparatedPrefix');
  const safeRegex = obj(m, 'safeRegex', path);
  if (typeof prefix === 'string') {
    pathKind = 'prefix';
    pathLiteral = prefix;
    if (prefix !== '') preds.push(caseSensitive ? (r) => r.pathOnly.startsWith(prefix) : lowerPrefix(prefix));
  } else if (typeof exact === 'string') {
    pathKind = 'path';
    pathLiteral = exact;
    if (caseSensitive) preds.push((r) => r.pathOnly === exact);
    else {
      const lower = exact.toLowerCase();
      preds.push((r) => r.pathOnly.length === lower.length && r.pathOnly.toLowerCase() === lower);
    }
  } else if (typeof separated === 'string') {
    pathKind = 'separated';
    pathLiteral = separated;
    if (separated.includes('?') || separated.includes('#') || separated.endsWith('/')) {
      throw new ConfigError(at(path, 'pathSeparatedPrefix'), 'must not contain ? or # and must not end with /');
    }
    const lower = separated.toLowerCase();
    preds.push((r) => {
      const p = r.pathOnly;
      if (p.length < separated.length) return false;
      if (caseSensitive ? !p.startsWith(separated) : p.slice(0, lower.length).toLowerCase() !== lower) return false;
      return p.length === separated.length || p.charCodeAt(separated.length) === 47 /* / */;
    });
  } else if (safeRegex) {
    pathKind = 'regex';
    const re = compileRegex(str(safeRegex, 'regex', at(path, 'safeRegex')), at(at(path, 'safeRegex'), 'regex'));
    preds.push((r) => re.fullMatch(r.pathOnly));
  } else if (field(m, 'connectMatcher') !== undefined) {
    pathKind = 'connect';
    preds.push((r) => r.method === 'CONNECT');
  } else if (field(m, 'pathMatchPolicy') !== undefined) {
    throw new ConfigError(at(path, 'pathMatchPolicy'), 'path match policies (URI templates) are not supported');
  } else {
    throw new ConfigError(path, 'a route match needs one of prefix, path, safeRegex, pathSeparatedPrefix or connectMatcher');
  }
  // An HTTP/1.1 CONNECT carries an authority-form target, which no path matcher can match.

  list(m, 'headers', path).forEach((h: Json, i: number) => preds.push(compileHeaderMatcher(h, at(at(path, 'headers'), i))));
  list(m, 'queryParameters', path).forEach((q: Json, i: number) => preds.push(compileQueryMatcher(q, at(at(path, 'queryParameters'), i))));
  list(m, 'cookies', path).forEach((c: Json, i: number) => {
    const p = at(at(path, 'cookies'), i);
    const name = str(c, 'name', p);
    const sm = obj(c, 'stringMatch', p);
    if (!sm) throw new ConfigError(at(p, 'stringMatch'), 'required');
    const match = compileStringMatcher(sm, at(p, 'stringMatch'));
    const invert = bool(c, 'invertMatch', p);
    preds.push((r) => {
      const v = cookies(r).get(name);
      return v === undefined ? invert : match(v) !== invert;
    });
  });
  const grpc = obj(m, 'grpc', path);
  if (grpc) preds.push((r) => (getJoined(r.headers, 'content-type') ?? '').startsWith('application/grpc'));
  const runtimeFraction = obj(m, 'runtimeFraction', path);
  if (runtimeFraction) {
    const p = fraction(runtimeFraction, at(path, 'runtimeFraction'));
    preds.push(() => Math.random() < p);
  }
  const tlsContext = obj(m, 'tlsContext', path);
  if (tlsContext) {
    const presented = field(tlsContext, 'presented');
    const validated = field(tlsContext, 'validated');
    if (presented !== undefined) { const want = presented === true || presented?.value === true; preds.push((r) => r.peerCertPresented === want); }
    if (validated !== undefined) { const want = validated === true || validated?.value === true; preds.push((r) => r.peerCertPresented === want); }
  }
  for (const unsupported of ['dynamicMetadata', 'filterState']) {
    if (field(m, unsupported) !== undefined) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  const matches = combine(preds);
  return { pathKind, pathLiteral, caseSensitive, matches };
}

function lowerPrefix(prefix: string): Pred {
  const lower = prefix.toLowerCase();
  return (r) => r.pathOnly.length >= lower.length && r.pathOnly.slice(0, lower.length).toLowerCase() === lower;
}

function combine(preds: Pred[]): Pred {
  switch (preds.length) {
    case 0: return () => true;
    case 1: return preds[0]!;
    case 2: { const [a, b] = preds as [Pred, Pred]; return (r) => a(r) && b(r); }
    default: return (r) => { for (const p of preds) if (!p(r)) return false; return true; };
  }
}

/** The value of a header for matching: pseudo-headers map to the request's fields. */
function headerValue(r: MatchRequest, name: string): string | undefined {
  if (name.charCodeAt(0) === 58 /* : */) {
    switch (name) {
      case ':authority': return r.authority;
      case ':path': return r.path;
      case ':method': return r.method;
      case ':scheme': return r.scheme;
      default: return undefined;
    }
  }
  if (name === 'host') return r.authority;
  return getJoined(r.headers, name);
}

export function compileHeaderMatcher(h: Json, path: string): Pred {
  const name = str(h, 'name', path).toLowerCase();
  if (!name) throw new ConfigError(at(path, 'name'), 'required');
  const invert = bool(h, 'invertMatch', path);
  const missingAsEmpty = bool(h, 'treatMissingHeaderAsEmpty', path);
  const present = field(h, 'presentMatch');
  if (present !== undefined) {
    const want = present === true;
    return (r) => (headerValue(r, name) !== undefined) === want ? !invert : invert;
  }
  let test: StringMatch;
  const sm = obj(h, 'stringMatch', path);
  if (sm) test = compileStringMatcher(sm, at(path, 'stringMatch'));
  else if (typeof field(h, 'exactMatch') === 'string') { const e = field(h, 'exactMatch'); test = (v) => v === e; }
  else if (typeof field(h, 'prefixMatch') === 'string') { const e = field(h, 'prefixMatch'); test = (v) => v.startsWith(e); }
  else if (typeof field(h, 'suffixMatch') === 'string') { const e = field(h, 'suffixMatch'); test = (v) => v.endsWith(e); }
  else if (typeof field(h, 'containsMatch') === 'string') { const e = field(h, 'containsMatch'); test = (v) => v.includes(e); }
  else if (obj(h, 'safeRegexMatch', path)) {
    const re = compileRegex(str(obj(h, 'safeRegexMatch', path)!, 'regex', at(path, 'safeRegexMatch')), at(path, 'safeRegexMatch.regex'));
    test = (v) => re.fullMatch(v);
  } else if (obj(h, 'rangeMatch', path)) {
    const rm = obj(h, 'rangeMatch', path)!;
    const start = num(rm, 'start', at(path, 'rangeMatch'), 0)!;
    const end = num(rm, 'end', at(path, 'rangeMatch'), 0)!;
    test = (v) => /^-?\d+$/.test(v) && Number(v) >= start && Number(v) < end;
  } else {
    // No match specifier: the header only has to be present.
    return (r) => (headerValue(r, name) !== undefined) !== invert;
  }
  return (r) => {
    let v = headerValue(r, name);
    if (v === undefined) {
      if (!missingAsEmpty) return invert;
      v = '';
    }
    return test(v) !== invert;
  };
}

function compileQueryMatcher(q: Json, path: string): Pred {
  const name = str(q, 'name', path);
  if (!name) throw new ConfigError(at(path, 'name'), 'required');
  const present = field(q, 'presentMatch');
  if (present !== undefined) {
    const want = present === true;
    return (r) => queryParams(r).has(name) === want;
  }
  const sm = obj(q, 'stringMatch', path);
  if (!sm) return (r) => queryParams(r).has(name);
  const test = compileStringMatcher(sm, at(path, 'stringMatch'));
  return (r) => {
    const v = queryParams(r).get(name);
    return v !== undefined && test(v);
  };
}
