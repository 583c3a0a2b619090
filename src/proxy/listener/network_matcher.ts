// xds.type.matcher.v3.Matcher over a connection's (or a datagram's) network attributes, as the
// UDP proxy's routes and the network RBAC filter use it: matcher_list entries in order (the
// first whose predicate holds decides), then on_no_match; predicates are single predicates on
// Envoy's network inputs (source/destination IP and port, server name, transport and
// application protocol) with a string value_match or the IP custom matcher, or and/or/not of
// predicates. The action is compiled by the user of the matcher.
import { ConfigError } from '../config/errors.js';
import { anyType, at, list, numOr, obj, str, type Json } from '../config/json.js';
import { compileStringMatcher } from '../router/string_match.js';
import { cidr, inCidr, ipBytes, type CidrRange } from './filter_chain.js';

/** What network inputs read. */
export interface NetworkAttributes {
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** The peer of the socket itself (before a PROXY protocol header replaced the remote address). */
  directRemoteAddress?: string;
  serverName?: string;
  transportProtocol?: string;
  applicationProtocols?: string[];
}

type Predicate = (a: NetworkAttributes) => boolean;
/** A compiled matcher: the action for these attributes, or undefined when nothing matched. */
export type NetworkMatcher<T> = (a: NetworkAttributes) => T | undefined;

const INPUT = 'envoy.extensions.matching.common_inputs.network.v3.';
const IP_MATCHER = 'envoy.extensions.matching.input_matchers.ip.v3.Ip';

function input(type: string, path: string): (a: NetworkAttributes) => string | undefined {
  switch (type) {
    case `${INPUT}SourceIPInput`: return (a) => a.remoteAddress;
    case `${INPUT}DirectSourceIPInput`: return (a) => a.directRemoteAddress ?? a.remoteAddress;
    case `${INPUT}SourcePortInput`: return (a) => String(a.remotePort);
    case `${INPUT}DestinationIPInput`: return (a) => a.localAddress;
    case `${INPUT}DestinationPortInput`: return (a) => String(a.localPort);
    case `${INPUT}ServerNameInput`: return (a) => a.serverName || undefined;
    case `${INPUT}TransportProtocolInput`: return (a) => a.transportProtocol || undefined;
    case `${INPUT}ApplicationProtocolInput`: return (a) => (a.applicationProtocols?.length ? a.applicationProtocols.map((p) => `'${p}'`).join(',') : undefined);
    case `${INPUT}SourceTypeInput`: return (a) => (a.remoteAddress === a.localAddress || a.remoteAddress.startsWith('127.') || a.remoteAddress === '::1' ? 'local' : undefined);
    default: throw new ConfigError(path, `unsupported matching input ${type || 'missing'}`);
  }
}

function compilePredicate(p: Json, path: string): Predicate {
  for (const combiner of ['orMatcher', 'andMatcher'] as const) {
    const c = obj(p, combiner, path);
    if (!c) continue;
    const cp = at(path, combiner);
    const ps = list(c, 'predicate', cp).map((x: Json, i: number) => compilePredicate(x, at(at(cp, 'predicate'), i)));
    if (ps.length < 2) throw new ConfigError(at(cp, 'predicate'), 'at least two predicates are required');
    return combiner === 'orMatcher' ? (a) => ps.some((f) => f(a)) : (a) => ps.every((f) => f(a));
  }
  const not = obj(p, 'notMatcher', path);
  if (not) { const f = compilePredicate(not, at(path, 'notMatcher')); return (a) => !f(a); }
  const sp = obj(p, 'singlePredicate', path);
  if (!sp) throw new ConfigError(path, 'a predicate needs single_predicate, or_matcher, and_matcher or not_matcher');
  const spp = at(path, 'singlePredicate');
  const inp = obj(sp, 'input', spp);
  const itc = inp && obj(inp, 'typedConfig', at(spp, 'input'));
  const read = input(itc ? anyType(itc, at(spp, 'input.typedConfig')) : '', at(spp, 'input.typedConfig'));
  const vm = obj(sp, 'valueMatch', spp);
  if (vm) {
    const sm = compileStringMatcher(vm, at(spp, 'valueMatch'));
    return (a) => { const v = read(a); return v !== undefined && sm(v); };
  }
  const cm = obj(sp, 'customMatch', spp);
  const ctc = cm && obj(cm, 'typedConfig', at(spp, 'customMatch'));
  const cp = at(spp, 'customMatch.typedConfig');
  if (!ctc || anyType(ctc, cp) !== IP_MATCHER) throw new ConfigError(cp, 'only value_match and the IP custom matcher are supported');
  const ranges: CidrRange[] = list(ctc, 'cidrRanges', cp).map((r: Json, i: number) => cidr(str(r, 'addressPrefix', at(at(cp, 'cidrRanges'), i)), numOr(r, 'prefixLen', at(at(cp, 'cidrRanges'), i), 0)));
  if (!ranges.length) throw new ConfigError(at(cp, 'cidrRanges'), 'at least one range is required');
  return (a) => {
    const v = read(a);
    const ip = v === undefined ? undefined : ipBytes(v);
    return ip !== undefined && ranges.some((r) => inCidr(ip, r));
  };
}

/**
 * Compiles a Matcher; `action` compiles the typed config of an action (its type URL without
 * prefix, the config, the path) into the value the matcher returns.
 */
export function compileNetworkMatcher<T>(m: Json, path: string, action: (type: string, config: Json, path: string) => T): NetworkMatcher<T> {
  const onMatch = (om: Json, p: string): NetworkMatcher<T> => {
    const nested = obj(om, 'matcher', p);
    if (nested) return compileNetworkMatcher(nested, at(p, 'matcher'), action);
    const a = obj(om, 'action', p);
    if (!a) throw new ConfigError(p, 'an action or a matcher is required');
    const tc = obj(a, 'typedConfig', at(p, 'action'));
    const tp = at(p, 'action.typedConfig');
    if (!tc) throw new ConfigError(tp, 'required');
    const value = action(anyType(tc, tp), tc, tp);
    return () => value;
  };
  if (obj(m, 'matcherTree', path)) throw new ConfigError(at(path, 'matcherTree'), 'matcher trees are not supported');
  const nm = obj(m, 'onNoMatch', path);
  const fallback: NetworkMatcher<T> = nm ? onMatch(nm, at(path, 'onNoMatch')) : () => undefined;
  const ml = obj(m, 'matcherList', path);
  if (!ml) return fallback;
  const entries = list(ml, 'matchers', at(path, 'matcherList')).map((fm: Json, i: number) => {
    const fp = at(at(path, 'matcherList.matchers'), i);
    const pred = obj(fm, 'predicate', fp);
    const om = obj(fm, 'onMatch', fp);
    if (!pred) throw new ConfigError(at(fp, 'predicate'), 'required');
    if (!om) throw new ConfigError(at(fp, 'onMatch'), 'required');
    return { pred: compilePredicate(pred, at(fp, 'predicate')), then: onMatch(om, at(fp, 'onMatch')) };
  });
  return (a) => {
    for (const e of entries) if (e.pred(a)) return e.then(a);
    return fallback(a);
  };
}
