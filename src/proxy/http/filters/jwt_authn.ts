// envoy.filters.http.jwt_authn: verifies JWTs as a route's requirement asks (Envoy Gateway names
// one per route in requirement_map through PerRouteConfig.requirement_name). A provider finds its
// tokens where it is told (headers with a prefix, query parameters, cookies; by default
// "Authorization: Bearer" and access_token), checks issuer, exp/nbf with clock skew, audiences
// and the signature against its JWKS; requirements combine providers (any/all) and may allow a
// missing or a failed token. On success a provider copies claims to headers, may forward the
// payload, and stores it as dynamic metadata (what authorization rules on claims read). On
// failure the request gets 401 (403 for audiences) with Envoy's reason and a Bearer challenge.
import { ConfigError } from '../../config/errors.js';
import { at, bool, field, list, num, obj, str, type Json } from '../../config/json.js';
import { cookies, queryParams } from '../../router/request.js';
import { compileStringMatcher } from '../../router/string_match.js';
import { FilterStatus, type FilterFactoryContext, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, removeHeader } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { FilterStats, originalUri } from './auth_common.js';
import { compileJwksSource, type JwksSource } from './jwks.js';
import { JwtStatus, audienceAllowed, checkTime, normalizeAudience, parseJwt, type Jwt, type Status } from './jwt_token.js';

const FILTER = 'envoy.filters.http.jwt_authn';

interface Location { kind: 'header' | 'param' | 'cookie'; name: string; prefix: string }

interface Provider {
  name: string;
  issuer: string;
  audiences: Set<string> | undefined;
  locations: Location[];
  jwks: JwksSource;
  forward: boolean;
  forwardPayloadHeader: string;
  padForwardPayloadHeader: boolean;
  payloadInMetadata: string;
  headerInMetadata: string;
  spaceDelimitedClaims: string[];
  claimToHeaders: { header: string; claim: string[] }[];
  clockSkewSec: number;
  requireExpiration: boolean;
  maxLifetimeSec: number;
  subjects: ((s: string) => boolean) | undefined;
}

/** A requirement evaluates to OK or the failure status. */
type Requirement =
  | { kind: 'provider'; provider: Provider; audiences: Set<string> | undefined }
  | { kind: 'any'; children: Requirement[] }
  | { kind: 'all'; children: Requirement[] }
  | { kind: 'allowMissing' }
  | { kind: 'allowMissingOrFailed' };

interface PerRoute { disabled: boolean; requirementName: string }

const DEFAULT_LOCATIONS: Location[] = [{ kind: 'header', name: 'authorization', prefix: 'Bearer ' }, { kind: 'param', name: 'access_token', prefix: '' }];

function compileProvider(name: string, p: Json, path: string, ctx: FilterFactoryContext): Provider {
  const locations: Location[] = [];
  list(p, 'fromHeaders', path).forEach((h: Json, i: number) => {
    const hp = at(at(path, 'fromHeaders'), i);
    locations.push({ kind: 'header', name: str(h, 'name', hp).toLowerCase(), prefix: str(h, 'valuePrefix', hp) });
  });
  for (const q of list(p, 'fromParams', path)) locations.push({ kind: 'param', name: String(q), prefix: '' });
  for (const c of list(p, 'fromCookies', path)) locations.push({ kind: 'cookie', name: String(c), prefix: '' });
  const auds = list(p, 'audiences', path).map((a: unknown) => normalizeAudience(String(a)));
  const subjects = obj(p, 'subjects', path);
  // jwt_cache_config only caches verification results: outcomes are the same without it.
  const subjectMatch = subjects ? compileStringMatcher(subjects, at(path, 'subjects')) : undefined;
  const ml = field(p, 'maxLifetime');
  const norm = obj(p, 'normalizePayloadInMetadata', path);
  const jwks = compileJwksSource(p, path, ctx.readFile, ctx.clusters);
  return {
    name,
    issuer: str(p, 'issuer', path),
    audiences: auds.length ? new Set(auds) : undefined,
    locations: locations.length ? locations : DEFAULT_LOCATIONS,
    jwks,
    forward: bool(p, 'forward', path),
    forwardPayloadHeader: str(p, 'forwardPayloadHeader', path).toLowerCase(),
    padForwardPayloadHeader: bool(p, 'padForwardPayloadHeader', path),
    payloadInMetadata: str(p, 'payloadInMetadata', path),
    headerInMetadata: str(p, 'headerInMetadata', path),
    spaceDelimitedClaims: norm ? list(norm, 'spaceDelimitedClaims', at(path, 'normalizePayloadInMetadata')).map(String) : [],
    claimToHeaders: list(p, 'claimToHeaders', path).map((c: Json, i: number) => {
      const cp = at(at(path, 'claimToHeaders'), i);
      const header = str(c, 'headerName', cp).toLowerCase();
      const claim = str(c, 'claimName', cp);
      if (!header || !claim) throw new ConfigError(cp, 'header_name and claim_name are required');
      return { header, claim: claim.split('.') };
    }),
    clockSkewSec: num(p, 'clockSkewSeconds', path, 0)! || 60,
    requireExpiration: bool(p, 'requireExpiration', path),
    maxLifetimeSec: ml === undefined ? 0 : (() => { const m = /^(\d+)(?:\.\d+)?s$/.exec(String(ml)); if (!m) throw new ConfigError(at(path, 'maxLifetime'), 'expected a duration'); return Number(m[1]); })(),
    subjects: subjectMatch,
  };
}

function compileRequirement(r: Json, path: string, providers: Map<string, Provider>): Requirement {
  const named = (name: string, p: string) => {
    const provider = providers.get(name);
    if (!provider) throw new ConfigError(p, `unknown provider ${name}`);
    return provider;
  };
  if (field(r, 'providerName') !== undefined) return { kind: 'provider', provider: named(str(r, 'providerName', path), at(path, 'providerName')), audiences: undefined };
  const pa = obj(r, 'providerAndAudiences', path);
  if (pa) {
    const pp = at(path, 'providerAndAudiences');
    const auds = list(pa, 'audiences', pp).map((a: unknown) => normalizeAudience(String(a)));
    return { kind: 'provider', provider: named(str(pa, 'providerName', pp), at(pp, 'providerName')), audiences: auds.length ? new Set(auds) : undefined };
  }
  for (const [key, kind] of [['requiresAny', 'any'], ['requiresAll', 'all']] as const) {
    const c = obj(r, key, path);
    if (!c) continue;
    const children = list(c, 'requirements', at(path, key)).map((x: Json, i: number) => compileRequirement(x, at(at(path, `${key}.requirements`), i), providers));
    if (children.length < 2) throw new ConfigError(at(path, `${key}.requirements`), 'at least two requirements are required');
    return { kind, children };
  }
  if (obj(r, 'allowMissingOrFailed', path)) return { kind: 'allowMissingOrFailed' };
  if (obj(r, 'allowMissing', path)) return { kind: 'allowMissing' };
  throw new ConfigError(path, 'a requirement needs provider_name, provider_and_audiences, requires_any, requires_all, allow_missing or allow_missing_or_failed');
}

// --- extraction ---

const TOKEN_CHARS = /^[A-Za-z0-9._~+/=-]+/;

interface Found { token: string; location: Location }

function extract(s: HttpStream, locations: Location[], into: Found[]): void {
  for (const loc of locations) {
    let v: string | undefined;
    if (loc.kind === 'header') {
      const h = getHeader(s.headers, loc.name);
      if (h === undefined) continue;
      if (!loc.prefix) v = h.trim();
      else {
        const i = h.toLowerCase().indexOf(loc.prefix.toLowerCase());
        if (i < 0) continue;
        v = TOKEN_CHARS.exec(h.slice(i + loc.prefix.length))?.[0];
      }
    } else if (loc.kind === 'param') v = queryParams(s).get(loc.name);
    else v = cookies(s).get(loc.name);
    if (v && !into.some((f) => f.token === v)) into.push({ token: v, location: loc });
  }
}

// --- verification ---

/** What verifying one provider's tokens produced, applied to the request when it is accepted. */
interface Verified { provider: Provider; jwt: Jwt; location: Location }

interface Outcome { status: Status; verified: Verified[] }

async function verifyToken(f: Found, provider: Provider, audiences: Set<string> | undefined, nowSec: number): Promise<Status | Jwt> {
  const jwt = parseJwt(f.token);
  if (typeof jwt === 'string') return jwt;
  if (provider.issuer && jwt.iss !== provider.issuer) return JwtStatus.UnknownIssuer;
  if (provider.requireExpiration && !jwt.exp) return JwtStatus.Expired;
  const t = checkTime(jwt, nowSec, provider.clockSkewSec);
  if (t !== JwtStatus.Ok) return t;
  if (provider.maxLifetimeSec && (!jwt.exp || !jwt.iat || jwt.exp - jwt.iat > provider.maxLifetimeSec)) return JwtStatus.Expired;
  if (!audienceAllowed(audiences ?? provider.audiences, jwt)) return JwtStatus.AudienceNotAllowed;
  if (provider.subjects && !provider.subjects(typeof jwt.payload.sub === 'string' ? jwt.payload.sub : '')) return JwtStatus.VerificationFail;
  const jwks = await provider.jwks.get();
  if (!jwks) return JwtStatus.JwksFetchFail;
  const st = await jwks.verify(jwt);
  return st === JwtStatus.Ok ? jwt : st;
}

/** Every token a provider finds must verify; none found is JwtMissed. */
async function verifyProvider(s: HttpStream, provider: Provider, audiences: Set<string> | undefined, nowSec: number): Promise<Outcome> {
  const found: Found[] = [];
  extract(s, provider.locations, found);
  if (!found.length) return { status: JwtStatus.Missed, verified: [] };
  const verified: Verified[] = [];
  for (const f of found) {
    const r = await verifyToken(f, provider, audiences, nowSec);
    if (typeof r === 'string') return { status: r, verified: [] };
    verified.push({ provider, jwt: r, location: f.location });
  }
  return { status: JwtStatus.Ok, verified };
}

/** Tokens in any provider's locations, each checked by the provider of its issuer. */
async function verifyAnyProvider(s: HttpStream, providers: Provider[], nowSec: number): Promise<Outcome> {
  const found: { f: Found; providers: Provider[] }[] = [];
  for (const p of providers) {
    const here: Found[] = [];
    extract(s, p.locations, here);
    for (const f of here) {
      const e = found.find((x) => x.f.token === f.token);
      if (e) e.providers.push(p); else found.push({ f, providers: [p] });
    }
  }
  if (!found.length) return { status: JwtStatus.Missed, verified: [] };
  const verified: Verified[] = [];
  for (const { f, providers: candidates } of found) {
    const jwt = parseJwt(f.token);
    if (typeof jwt === 'string') return { status: jwt, verified: [] };
    const p = candidates.find((c) => c.issuer === jwt.iss) ?? candidates.find((c) => !c.issuer);
    if (!p) return { status: JwtStatus.UnknownIssuer, verified: [] };
    const r = await verifyToken(f, p, undefined, nowSec);
    if (typeof r === 'string') return { status: r, verified: [] };
    verified.push({ provider: p, jwt: r, location: f.location });
  }
  return { status: JwtStatus.Ok, verified };
}

async function evaluate(s: HttpStream, r: Requirement, all: Provider[], nowSec: number): Promise<Outcome> {
  switch (r.kind) {
    case 'provider': return verifyProvider(s, r.provider, r.audiences, nowSec);
    case 'allowMissing': {
      const o = await verifyAnyProvider(s, all, nowSec);
      return o.status === JwtStatus.Missed ? { status: JwtStatus.Ok, verified: [] } : o;
    }
    case 'allowMissingOrFailed': {
      const o = await verifyAnyProvider(s, all, nowSec);
      return { status: JwtStatus.Ok, verified: o.status === JwtStatus.Ok ? o.verified : [] };
    }
    case 'all': {
      const verified: Verified[] = [];
      for (const c of r.children) {
        const o = await evaluate(s, c, all, nowSec);
        if (o.status !== JwtStatus.Ok) return o;
        verified.push(...o.verified);
      }
      return { status: JwtStatus.Ok, verified };
    }
    case 'any': {
      const outcomes = await Promise.all(r.children.map((c) => evaluate(s, c, all, nowSec)));
      const ok = outcomes.filter((o) => o.status === JwtStatus.Ok);
      if (ok.length) return { status: JwtStatus.Ok, verified: ok.flatMap((o) => o.verified) };
      // A missing token (or one meant for another issuer) says less than a real failure.
      let status: Status = JwtStatus.Missed;
      for (const o of outcomes) if (o.status !== JwtStatus.Missed && o.status !== JwtStatus.UnknownIssuer) status = o.status;
      return { status, verified: [] };
    }
  }
}

function claimValue(payload: Record<string, unknown>, path: string[]): string | undefined {
  let v: unknown = payload;
  for (const k of path) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  if (typeof v === 'string') return v || undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(v);
  if (v && typeof v === 'object') return Buffer.from(JSON.stringify(v)).toString('base64');
  return undefined;
}

/** The side effects of an accepted token: headers, payload forwarding, dynamic metadata. */
function applyVerified(s: HttpStream, v: Verified): void {
  const p = v.provider;
  const h = s.headers;
  if (p.forwardPayloadHeader) {
    let b64 = v.jwt.payloadB64;
    if (p.padForwardPayloadHeader) b64 = Buffer.from(b64, 'base64url').toString('base64');
    h.push(p.forwardPayloadHeader, b64);
  }
  for (const c of p.claimToHeaders) {
    const value = claimValue(v.jwt.payload, c.claim);
    if (value !== undefined) h.push(c.header, value);
  }
  if (!p.forward && v.location.kind === 'header') removeHeader(h, v.location.name);
  if (p.payloadInMetadata || p.headerInMetadata) {
    const md = ((s.dynamicMetadata ??= {})[FILTER] ??= {});
    if (p.headerInMetadata) md[p.headerInMetadata] = v.jwt.header;
    if (p.payloadInMetadata) {
      let payload = v.jwt.payload;
      for (const claim of p.spaceDelimitedClaims) {
        const c = payload[claim];
        if (typeof c === 'string') payload = { ...payload, [claim]: c.split(' ').filter(Boolean) };
      }
      md[p.payloadInMetadata] = payload;
    }
  }
}

const STATS = ['allowed', 'denied', 'jwks_fetch_success', 'jwks_fetch_failed', 'cors_preflight_bypassed'] as const;

class JwtAuthnFilter implements HttpFilter {
  private readonly stats = new FilterStats('jwt_authn.', STATS);

  constructor(
    readonly name: string,
    private readonly providers: Provider[],
    private readonly requirements: Map<string, Requirement>,
    private readonly bypassCorsPreflight: boolean,
  ) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const pr = s.perFilterConfig(this.name)?.config as PerRoute | undefined;
    if (!pr || pr.disabled) return FilterStatus.Continue;
    const requirement = this.requirements.get(pr.requirementName);
    // A route naming a requirement the filter does not have is refused, as Envoy does.
    if (!requirement) return this.deny(s, JwtStatus.Missed);
    if (this.bypassCorsPreflight && s.method === 'OPTIONS' && getHeader(s.headers, 'origin') && getHeader(s.headers, 'access-control-request-method')) {
      this.stats.of(s).cors_preflight_bypassed.value++;
      return FilterStatus.Continue;
    }
    // Headers this filter sets must come from it, never from the client.
    for (const p of this.providers) {
      if (p.forwardPayloadHeader) removeHeader(s.headers, p.forwardPayloadHeader);
      for (const c of p.claimToHeaders) removeHeader(s.headers, c.header);
    }
    const stats = this.stats.of(s);
    for (const p of this.providers) p.jwks.onFetch ??= (ok) => { (ok ? stats.jwks_fetch_success : stats.jwks_fetch_failed).value++; };
    evaluate(s, requirement, this.providers, Math.floor(Date.now() / 1000)).then((o) => {
      if (s.done) return;
      if (o.status !== JwtStatus.Ok) { this.deny(s, o.status); return; }
      for (const v of o.verified) applyVerified(s, v);
      stats.allowed.value++;
      s.continueDecoding();
    }, (err: unknown) => {
      if (!s.done) s.sendLocalReply(500, '', `jwt_authn_internal_error{${String((err as Error)?.message ?? err).replace(/\s/g, '_')}}`);
    });
    return FilterStatus.Stop;
  }

  private deny(s: HttpStream, status: Status): FilterStatus {
    this.stats.of(s).denied.value++;
    let challenge = `Bearer realm="${originalUri(s)}"`;
    if (status !== JwtStatus.Missed) challenge += ', error="invalid_token"';
    s.sendLocalReply(status === JwtStatus.AudienceNotAllowed ? 403 : 401, status, `jwt_authn_access_denied{${status.replace(/\s/g, '_')}}`, ['www-authenticate', challenge]);
    return FilterStatus.Stop;
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
  create(name: string, c: Json, path: string, ctx: FilterFactoryContext): HttpFilter {
    for (const unsupported of ['rules', 'filterStateRules']) {
      const v = field(c, unsupported);
      if (v !== undefined && v !== null && (!Array.isArray(v) || v.length)) {
        throw new ConfigError(at(path, unsupported), 'not supported by this proxy (use requirement_map with per-route requirement names)');
      }
    }
    const providers = new Map<string, Provider>();
    for (const [pname, p] of Object.entries(obj(c, 'providers', path) ?? {})) {
      providers.set(pname, compileProvider(pname, p as Json, at(at(path, 'providers'), pname), ctx));
    }
    const requirements = new Map<string, Requirement>();
    for (const [rname, r] of Object.entries(obj(c, 'requirementMap', path) ?? {})) {
      requirements.set(rname, compileRequirement(r as Json, at(at(path, 'requirementMap'), rname), providers));
    }
    return new JwtAuthnFilter(name, [...providers.values()], requirements, bool(c, 'bypassCorsPreflight', path));
  },
  perRoute: {
    'envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig': (c: Json, path: string): PerRoute => {
      const disabled = bool(c, 'disabled', path);
      const requirementName = str(c, 'requirementName', path);
      if (!disabled && !requirementName) throw new ConfigError(path, 'one of disabled or requirement_name is required');
      return { disabled, requirementName };
    },
  },
});
