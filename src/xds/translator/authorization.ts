// Authorization (SecurityPolicy authorization) as an RBAC matcher tree: each rule is one matcher
// whose predicate ANDs the rule's conditions (the request's method and path, the client's
// address and location, JWT scopes and claims, headers, a CEL expression); the first rule that
// matches decides, the default action otherwise. Used by the HTTP rbac filter per route and by
// the network rbac filter of TCP routes.
import type { Authorization, AuthorizationRule, CIDRMatch } from '../../ir/xds.js';
import { parseCEL } from './cel.js';
import { typed, type Msg } from './util.js';

const headerInput = 'envoy.type.matcher.v3.HttpRequestHeaderMatchInput';
const jwtFilter = 'envoy.filters.http.jwt_authn';

/** The request header that the geoip filter stores each looked-up field under. */
export const geoHeaders = {
  country: 'x-eg-internal-geoip-country',
  region: 'x-eg-internal-geoip-region',
  city: 'x-eg-internal-geoip-city',
  anon: 'x-eg-internal-geoip-anon',
  anonVpn: 'x-eg-internal-geoip-anon-vpn',
  anonHosting: 'x-eg-internal-geoip-anon-hosting',
  anonTor: 'x-eg-internal-geoip-anon-tor',
  anonProxy: 'x-eg-internal-geoip-anon-proxy',
} as const;

export type GeoField = keyof typeof geoHeaders;

function rbacAction(name: string, allow: boolean): Msg {
  return { name, typedConfig: typed('envoy.config.rbac.v3.Action', allow ? { name: 'ALLOW' } : { name: 'DENY', action: 'DENY' }) };
}

function headerPredicate(header: string, valueMatch: Msg): Msg {
  return { singlePredicate: { input: { name: 'http_header', typedConfig: typed(headerInput, { headerName: header }) }, valueMatch } };
}

/** One predicate, or all of them (and) / any of them (or). */
function all(ps: Msg[]): Msg {
  return ps.length === 1 ? ps[0]! : { andMatcher: { predicate: ps } };
}

function any(ps: Msg[]): Msg {
  return ps.length === 1 ? ps[0]! : { orMatcher: { predicate: ps } };
}

export function cidrRanges(cidrs: CIDRMatch[]): Msg[] {
  return cidrs.map((c) => {
    const [prefix, len] = c.cidr.split('/');
    return { addressPrefix: prefix, prefixLen: c.maskLen ?? Number(len ?? 0) };
  });
}

function clientIPPredicate(cidrs: CIDRMatch[]): Msg {
  return {
    singlePredicate: {
      input: { name: 'client_ip', typedConfig: typed('envoy.extensions.matching.common_inputs.network.v3.SourceIPInput') },
      customMatch: { name: 'ip_matcher', typedConfig: typed('envoy.extensions.matching.input_matchers.ip.v3.Ip', { cidrRanges: cidrRanges(cidrs), statPrefix: 'client_ip' }) },
    },
  };
}

/** A value in the verified JWT payload (jwt_authn's dynamic metadata) under the provider's key. */
function jwtPredicate(name: string, path: string[], value: string, list: boolean): Msg {
  const match = list ? { listMatch: { oneOf: { stringMatch: { exact: value } } } } : { stringMatch: { exact: value } };
  return {
    singlePredicate: {
      input: {
        name,
        typedConfig: typed('envoy.extensions.matching.common_inputs.network.v3.DynamicMetadataInput', {
          filter: jwtFilter,
          path: path.map((key) => ({ key })),
        }),
      },
      customMatch: { name: `${name}_matcher`, typedConfig: typed('envoy.extensions.matching.input_matchers.metadata.v3.Metadata', { value: match }) },
    },
  };
}

function celPredicate(expr: string): Msg {
  const parsed = parseCEL(expr);
  const exprMatch = parsed ? { celExprParsed: parsed } : { celExprString: expr };
  return {
    singlePredicate: {
      input: { name: 'cel', typedConfig: typed('xds.type.matcher.v3.HttpAttributesCelMatchInput') },
      customMatch: { name: 'cel_matcher', typedConfig: typed('xds.type.matcher.v3.CelMatcher', { exprMatch }) },
    },
  };
}

function pathPredicate(p: { type?: string; value: string; invert?: boolean }): Msg {
  let m: Msg;
  if (p.type === 'Exact') m = { exact: p.value };
  else if (p.type === 'RegularExpression') m = { safeRegex: { regex: p.value } };
  else m = { prefix: p.value };
  const pred = headerPredicate(':path', m);
  return p.invert ? { notMatcher: pred } : pred;
}

/** The geolocation fields the rules of an authorization look at. */
export function geoFieldsOf(a: Authorization | undefined, into: Set<GeoField>): void {
  for (const r of a?.rules ?? []) {
    for (const g of r.principal?.clientIPGeoLocations ?? []) {
      if (g.country) into.add('country');
      if (g.region) into.add('region');
      if (g.city) into.add('city');
      const an = g.anonymous;
      if (an?.isAnonymous !== undefined) into.add('anon');
      if (an?.isVPN !== undefined) into.add('anonVpn');
      if (an?.isHosting !== undefined) into.add('anonHosting');
      if (an?.isTor !== undefined) into.add('anonTor');
      if (an?.isProxy !== undefined) into.add('anonProxy');
    }
  }
}

type GeoLocation = NonNullable<NonNullable<AuthorizationRule['principal']>['clientIPGeoLocations']>[number];

function geoPredicate(g: GeoLocation): Msg | undefined {
  const ps: Msg[] = [];
  if (g.country) ps.push(headerPredicate(geoHeaders.country, { exact: g.country, ignoreCase: true }));
  if (g.region) ps.push(headerPredicate(geoHeaders.region, { exact: g.region, ignoreCase: true }));
  if (g.city) ps.push(headerPredicate(geoHeaders.city, { exact: g.city, ignoreCase: true }));
  const an = g.anonymous;
  const flag = (field: GeoField, v: boolean | undefined) => {
    if (v !== undefined) ps.push(headerPredicate(geoHeaders[field], { exact: String(v) }));
  };
  flag('anon', an?.isAnonymous);
  flag('anonVpn', an?.isVPN);
  flag('anonHosting', an?.isHosting);
  flag('anonTor', an?.isTor);
  flag('anonProxy', an?.isProxy);
  return ps.length ? all(ps) : undefined;
}

/** The conditions of one rule, in a fixed order; all must hold. */
function ruleConditions(r: AuthorizationRule): Msg[] {
  const out: Msg[] = [];
  if (r.cel) out.push(celPredicate(r.cel));
  const methods = r.operation?.methods ?? [];
  if (methods.length) out.push(any(methods.map((m) => headerPredicate(':method', { exact: m, ignoreCase: true }))));
  if (r.operation?.path) out.push(pathPredicate(r.operation.path));
  const p = r.principal;
  if (p?.clientCIDRs?.length) out.push(clientIPPredicate(p.clientCIDRs));
  const jwt = p?.jwt;
  if (jwt) {
    // Scopes may be listed under either claim name, as a list or a space-delimited string
    // (jwt_authn normalises the latter into a list).
    for (const s of jwt.scopes ?? []) out.push(any(['scope', 'scp'].map((claim) => jwtPredicate('scope', [jwt.provider, claim], s, true))));
    for (const c of jwt.claims ?? []) {
      const path = [jwt.provider, ...c.name.split('.')];
      const list = c.valueType === 'StringArray';
      out.push(any(c.values.map((v) => jwtPredicate('claim', path, v, list))));
    }
  }
  for (const h of p?.headers ?? []) out.push(any(h.values.map((v) => headerPredicate(h.name, { exact: String(v) }))));
  const geos = (p?.clientIPGeoLocations ?? []).map(geoPredicate).filter((g): g is Msg => !!g);
  if (geos.length) out.push(any(geos));
  return out;
}

/** A predicate every request satisfies, for a rule without conditions. */
const matchAll: Msg = headerPredicate(':method', { safeRegex: { regex: '.*' } });

/** The RBAC matcher of an authorization: first matching rule wins, then the default action. */
export function buildRBACMatcher(a: Authorization): Msg {
  const matchers = (a.rules ?? []).map((r) => {
    const conds = ruleConditions(r);
    return { predicate: conds.length ? all(conds) : matchAll, onMatch: { action: rbacAction(r.name, r.action === 'Allow') } };
  });
  const m: Msg = {};
  if (matchers.length) m.matcherList = { matchers };
  m.onNoMatch = { action: rbacAction('default', a.defaultAction === 'Allow') };
  return m;
}
