// CEL expressions over Envoy's request attributes (xds.type.matcher.v3.CelMatcher with
// HttpAttributesCelMatchInput), evaluated with @bufbuild/cel. Expressions arrive parsed
// (cel_expr_parsed, or the older parsed_expr / checked_expr) or as text (cel_expr_string); they
// are planned once at configuration time. The variables Envoy offers at request time that this
// proxy knows are bound: request, source, destination, connection, xds and metadata (dynamic
// metadata); an expression naming another one (filter_state, upstream, response, ...) is refused.
// An evaluation error or a non-boolean result is no match, as in Envoy.
import { celEnv, parse, plan, type CelResult } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { CheckedExprSchema } from '@bufbuild/cel-spec/cel/expr/checked_pb.js';
import { ParsedExprSchema, type Expr } from '@bufbuild/cel-spec/cel/expr/syntax_pb.js';
import { fromJson } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { ConfigError } from '../../config/errors.js';
import { at, field, obj, str, type Json } from '../../config/json.js';
import { getHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { trustedClientAddress } from './auth_common.js';

const env = celEnv({ funcs: strings });

const VARIABLES = new Set(['request', 'source', 'destination', 'connection', 'xds', 'metadata']);
const NOT_BOUND = new Set(['response', 'upstream', 'filter_state', 'plugin']);

export type CelPredicate = (s: HttpStream) => boolean;

/** Identifiers the expression reads at its top level (variables), comprehension variables aside. */
function freeIdents(e: Expr | undefined, bound: Set<string>, out: Set<string>): void {
  if (!e) return;
  const k = e.exprKind;
  switch (k.case) {
    case 'identExpr': if (!bound.has(k.value.name)) out.add(k.value.name); break;
    case 'selectExpr': freeIdents(k.value.operand, bound, out); break;
    case 'callExpr': freeIdents(k.value.target, bound, out); for (const a of k.value.args) freeIdents(a, bound, out); break;
    case 'listExpr': for (const x of k.value.elements) freeIdents(x, bound, out); break;
    case 'structExpr': for (const en of k.value.entries) { if (en.keyKind.case === 'mapKey') freeIdents(en.keyKind.value, bound, out); freeIdents(en.value, bound, out); } break;
    case 'comprehensionExpr': {
      const c = k.value;
      freeIdents(c.iterRange, bound, out);
      freeIdents(c.accuInit, bound, out);
      const inner = new Set(bound);
      inner.add(c.iterVar); if (c.iterVar2) inner.add(c.iterVar2); inner.add(c.accuVar);
      freeIdents(c.loopCondition, inner, out);
      freeIdents(c.loopStep, inner, out);
      freeIdents(c.result, inner, out);
      break;
    }
    default: break;
  }
}

/** Compiles a CelMatcher's expression into a predicate over the request. */
export function compileCelMatcher(c: Json, path: string): CelPredicate {
  const em = obj(c, 'exprMatch', path);
  if (!em) throw new ConfigError(at(path, 'exprMatch'), 'required');
  const ep = at(path, 'exprMatch');
  let expr: Expr | undefined;
  let planned: (vars: Record<string, unknown>) => CelResult;
  try {
    const parsedJson = field(em, 'celExprParsed') ?? field(em, 'parsedExpr');
    const checkedJson = field(em, 'celExprChecked') ?? field(em, 'checkedExpr');
    const text = str(em, 'celExprString', ep);
    if (parsedJson) {
      const pe = fromJson(ParsedExprSchema, parsedJson, { ignoreUnknownFields: false });
      expr = pe.expr;
      planned = plan(env, pe) as typeof planned;
    } else if (checkedJson) {
      const ce = fromJson(CheckedExprSchema, checkedJson, { ignoreUnknownFields: false });
      expr = ce.expr;
      planned = plan(env, ce) as typeof planned;
    } else if (text) {
      const pe = parse(text);
      expr = pe.expr;
      planned = plan(env, pe) as typeof planned;
    } else throw new ConfigError(ep, 'one of cel_expr_parsed, cel_expr_checked or cel_expr_string is required');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(ep, `invalid CEL expression: ${(err as Error).message}`);
  }
  const used = new Set<string>();
  freeIdents(expr, new Set(), used);
  for (const v of used) {
    if (NOT_BOUND.has(v)) throw new ConfigError(ep, `CEL attribute ${v} is not available to this proxy's request matching`);
    if (!VARIABLES.has(v)) throw new ConfigError(ep, `unknown CEL variable ${v}`);
  }
  const needs = [...used];
  return (s) => {
    const vars: Record<string, unknown> = {};
    for (const v of needs) vars[v] = attribute(s, v);
    const r = planned(vars);
    return r === true;
  };
}

function headerMap(h: HeaderList): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < h.length; i += 2) {
    const prev = m.get(h[i]!);
    m.set(h[i]!, prev === undefined ? h[i + 1]! : `${prev},${h[i + 1]}`);
  }
  return m;
}

/** JSON values as CEL inputs: objects become maps, integral numbers stay doubles (as Struct does). */
function celValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(celValue);
  if (v && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, celValue(x)]));
  return v ?? null;
}

function attribute(s: HttpStream, name: string): unknown {
  switch (name) {
    case 'request': {
      const q = s.path.indexOf('?');
      const m = new Map<string, unknown>([
        ['path', s.path],
        ['url_path', q < 0 ? s.path : s.path.slice(0, q)],
        ['host', s.authority],
        ['scheme', s.scheme],
        ['method', s.method],
        ['headers', headerMap(s.headers)],
        ['id', s.requestId],
        ['protocol', s.protocol],
        ['query', q < 0 ? '' : s.path.slice(q + 1)],
        ['time', timestampFromMs(s.startTime)],
      ]);
      const referer = getHeader(s.headers, 'referer');
      if (referer !== undefined) m.set('referer', referer);
      const ua = getHeader(s.headers, 'user-agent');
      if (ua !== undefined) m.set('useragent', ua);
      return m;
    }
    case 'source': return new Map<string, unknown>([['address', trustedClientAddress(s)], ['port', BigInt(s.downstream.remotePort)]]);
    case 'destination': return new Map<string, unknown>([['address', s.downstream.localAddress], ['port', BigInt(s.downstream.localPort)]]);
    case 'connection': {
      const d = s.downstream;
      const m = new Map<string, unknown>([['mtls', d.peerCertificate !== undefined]]);
      if (d.serverName) m.set('requested_server_name', d.serverName);
      if (d.peerCertificate) {
        m.set('subject_peer_certificate', d.peerCertificate.subject);
        m.set('uri_san_peer_certificate', d.peerCertificate.uriSans[0] ?? '');
        m.set('dns_san_peer_certificate', d.peerCertificate.dnsSans[0] ?? '');
      }
      return m;
    }
    case 'xds': return new Map<string, unknown>([['route_name', s.routeName], ['cluster_name', s.clusterName]]);
    case 'metadata': return new Map([['filter_metadata', celValue(s.dynamicMetadata ?? {})]]);
    default: return undefined;
  }
}
