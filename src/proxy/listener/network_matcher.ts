// xds.type.matcher.v3.Matcher over a connection's (or a datagram's) network attributes, as the
// UDP proxy's routes and the network RBAC filter use it: matcher_list entries in order (the
// first whose predicate holds decides), then on_no_match; predicates are single predicates on
// Envoy's network inputs (source/destination IP and port, server name, transport and
// application protocol) with a string value_match or the IP custom matcher, or and/or/not of
// predicates. The action is compiled by the user of the matcher.
import { ConfigError } from '../config/errors.js';
import { compileMatcher, type ActionCompiler, type Matcher, type Predicate as PredicateOf } from '../config/matcher.js';
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

type Predicate = PredicateOf<NetworkAttributes>;
/** A compiled matcher: the action for these attributes, or undefined when nothing matched. */
export type NetworkMatcher<T> = Matcher<NetworkAttributes, T>;

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

function compileSingle(sp: Json, spp: string): Predicate {
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

/** Compiles a Matcher over network attributes (config/matcher.ts) with the inputs above. */
export function compileNetworkMatcher<T>(m: Json, path: string, action: ActionCompiler<T>): NetworkMatcher<T> {
  return compileMatcher(m, path, compileSingle, action);
}
