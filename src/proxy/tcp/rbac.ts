// envoy.filters.network.rbac: allows or denies a connection by who it is from and where it goes,
// before the terminal filter sees it. Either the `matcher` form (Envoy Gateway's TCPRoute
// authorization: the first matching entry's ALLOW/DENY action, no match denies) or the classic
// `rules` (ALLOW: some policy must match; DENY: no policy may match) over the connection's
// addresses, ports and SNI, decided when the connection is accepted. Shadow rules are
// evaluated for stats only.
import { ConfigError } from '../config/errors.js';
import { at, enumOf, field, list, numOr, obj, str, type Json } from '../config/json.js';
import { cidr, inCidr, ipBytes, type CidrRange } from '../listener/filter_chain.js';
import { compileNetworkMatcher, type NetworkAttributes } from '../listener/network_matcher.js';
import { registerNetworkFilter, type AcceptedConnection, type NetworkFilter } from '../listener/network_filter.js';
import { compileStringMatcher } from '../router/string_match.js';
import { counter, type Counter } from '../stats.js';

const RBAC = 'envoy.extensions.filters.network.rbac.v3.RBAC';
const ACTION = 'envoy.config.rbac.v3.Action';

type Decision = 'ALLOW' | 'DENY' | 'LOG';
type Check = (a: NetworkAttributes) => boolean;
type Engine = (a: NetworkAttributes) => boolean;

function range(r: Json, path: string): CidrRange {
  return cidr(str(r, 'addressPrefix', path), numOr(r, 'prefixLen', path, -1));
}

function inRange(ip: string, r: CidrRange): boolean {
  const b = ipBytes(ip);
  return b !== undefined && inCidr(b, r);
}

function compilePrincipal(p: Json, path: string): Check {
  if (field(p, 'any') === true) return () => true;
  for (const [key, combine] of [['andIds', 'and'], ['orIds', 'or']] as const) {
    const ids = obj(p, key, path);
    if (!ids) continue;
    const parts = list(ids, 'ids', at(path, key)).map((x: Json, i: number) => compilePrincipal(x, at(at(path, `${key}.ids`), i)));
    return combine === 'and' ? (a) => parts.every((f) => f(a)) : (a) => parts.some((f) => f(a));
  }
  const not = obj(p, 'notId', path);
  if (not) { const f = compilePrincipal(not, at(path, 'notId')); return (a) => !f(a); }
  for (const key of ['sourceIp', 'remoteIp'] as const) {
    const r = obj(p, key, path);
    if (r) { const cr = range(r, at(path, key)); return (a) => inRange(a.remoteAddress, cr); }
  }
  const direct = obj(p, 'directRemoteIp', path);
  if (direct) { const cr = range(direct, at(path, 'directRemoteIp')); return (a) => inRange(a.directRemoteAddress ?? a.remoteAddress, cr); }
  // The decision is made as the connection is accepted, before any TLS handshake: client
  // certificates are not known yet.
  if (obj(p, 'authenticated', path)) throw new ConfigError(at(path, 'authenticated'), 'authenticated principals are not supported by the network RBAC filter here');
  throw new ConfigError(path, 'unsupported RBAC principal for a network filter');
}

function compilePermission(p: Json, path: string): Check {
  if (field(p, 'any') === true) return () => true;
  for (const [key, combine] of [['andRules', 'and'], ['orRules', 'or']] as const) {
    const rules = obj(p, key, path);
    if (!rules) continue;
    const parts = list(rules, 'rules', at(path, key)).map((x: Json, i: number) => compilePermission(x, at(at(path, `${key}.rules`), i)));
    return combine === 'and' ? (a) => parts.every((f) => f(a)) : (a) => parts.some((f) => f(a));
  }
  const not = obj(p, 'notRule', path);
  if (not) { const f = compilePermission(not, at(path, 'notRule')); return (a) => !f(a); }
  const dip = obj(p, 'destinationIp', path);
  if (dip) { const cr = range(dip, at(path, 'destinationIp')); return (a) => inRange(a.localAddress, cr); }
  if (field(p, 'destinationPort') !== undefined) { const port = numOr(p, 'destinationPort', path, 0); return (a) => a.localPort === port; }
  const pr = obj(p, 'destinationPortRange', path);
  if (pr) {
    const start = numOr(pr, 'start', at(path, 'destinationPortRange'), 0);
    const end = numOr(pr, 'end', at(path, 'destinationPortRange'), 0);
    return (a) => a.localPort >= start && a.localPort < end;
  }
  const sni = obj(p, 'requestedServerName', path);
  if (sni) { const m = compileStringMatcher(sni, at(path, 'requestedServerName')); return (a) => m(a.serverName ?? ''); }
  throw new ConfigError(path, 'unsupported RBAC permission for a network filter');
}

function compileRules(r: Json, path: string): Engine {
  const action = enumOf(r, 'action', path, ['ALLOW', 'DENY', 'LOG'] as const, 'ALLOW');
  const policies = Object.entries(obj(r, 'policies', path) ?? {}).map(([name, pol]) => {
    const pp = at(at(path, 'policies'), name);
    if (obj(pol as Json, 'condition', pp) || obj(pol as Json, 'checkedCondition', pp)) throw new ConfigError(at(pp, 'condition'), 'CEL conditions are not supported');
    const perms = list(pol as Json, 'permissions', pp).map((x: Json, i: number) => compilePermission(x, at(at(pp, 'permissions'), i)));
    const princ = list(pol as Json, 'principals', pp).map((x: Json, i: number) => compilePrincipal(x, at(at(pp, 'principals'), i)));
    return (a: NetworkAttributes) => perms.some((f) => f(a)) && princ.some((f) => f(a));
  });
  const matched = (a: NetworkAttributes) => policies.some((f) => f(a));
  if (action === 'ALLOW') return matched;
  if (action === 'DENY') return (a) => !matched(a);
  return () => true;
}

function compileMatcherEngine(m: Json, path: string): Engine {
  const decide = compileNetworkMatcher<Decision>(m, path, (type, tc, tp) => {
    if (type !== ACTION) throw new ConfigError(tp, `unsupported RBAC action ${type}`);
    return enumOf(tc, 'action', tp, ['ALLOW', 'DENY', 'LOG'] as const, 'ALLOW');
  });
  // No matching entry denies.
  return (a) => { const d = decide(a); return d === 'ALLOW' || d === 'LOG'; };
}

function compileEngine(c: Json, rulesKey: string, matcherKey: string, path: string): Engine | undefined {
  const rules = obj(c, rulesKey, path);
  const matcher = obj(c, matcherKey, path);
  if (rules && matcher) throw new ConfigError(at(path, matcherKey), `only one of ${rulesKey} and ${matcherKey} may be set`);
  if (rules) return compileRules(rules, at(path, rulesKey));
  if (matcher) return compileMatcherEngine(matcher, at(path, matcherKey));
  return undefined;
}

class NetworkRbac implements NetworkFilter {
  readonly terminal = false;
  private readonly allowed: Counter;
  private readonly denied: Counter;
  private readonly shadowAllowed: Counter;
  private readonly shadowDenied: Counter;

  constructor(private readonly engine: Engine | undefined, private readonly shadow: Engine | undefined, prefix: string) {
    // Envoy appends "rbac." to the stat prefix as given (so a prefix usually ends with a dot).
    this.allowed = counter(`${prefix}rbac.allowed`);
    this.denied = counter(`${prefix}rbac.denied`);
    this.shadowAllowed = counter(`${prefix}rbac.shadow_allowed`);
    this.shadowDenied = counter(`${prefix}rbac.shadow_denied`);
  }

  onAccept(c: AcceptedConnection): boolean {
    const i = c.info;
    const a: NetworkAttributes = {
      remoteAddress: i.remoteAddress, remotePort: i.remotePort, localAddress: i.localAddress, localPort: i.localPort,
      serverName: i.serverName, transportProtocol: i.serverName || i.tls ? 'tls' : 'raw_buffer',
    };
    if (this.shadow) (this.shadow(a) ? this.shadowAllowed : this.shadowDenied).value++;
    if (!this.engine) return true;
    const ok = this.engine(a);
    (ok ? this.allowed : this.denied).value++;
    return ok;
  }
}

registerNetworkFilter({
  configType: RBAC,
  create(config: Json, path: string) {
    const statPrefix = str(config, 'statPrefix', path);
    if (!statPrefix) throw new ConfigError(at(path, 'statPrefix'), 'required');
    if (enumOf(config, 'enforcementType', path, ['ONE_TIME_ON_FIRST_BYTE', 'CONTINUOUS'] as const, 'ONE_TIME_ON_FIRST_BYTE') === 'CONTINUOUS') {
      throw new ConfigError(at(path, 'enforcementType'), 'continuous enforcement is not supported');
    }
    return new NetworkRbac(compileEngine(config, 'rules', 'matcher', path), compileEngine(config, 'shadowRules', 'shadowMatcher', path), statPrefix);
  },
});
