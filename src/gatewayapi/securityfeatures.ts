// The IR security features of a SecurityPolicy: CORS, CSRF, JWT, OIDC, basic auth, API keys,
// external authorization and authorization rules. References resolve in the namespace of the
// policy that gave the field (with a merged spec, the route's or its parent's).
import type { Secret } from '../api/core/index.js';
import type { SecurityPolicy, SecurityPolicySpec } from '../api/envoygateway/index.js';
import type * as ir from '../ir/xds.js';
import { SettingError, clusterTraffic } from './clustersettings.js';
import { EnvoyGatewayGroup, type ProxyConfig } from './contexts.js';
import { formatDuration, parseDuration } from './duration.js';
import { extServiceAuthority, extServiceDestination } from './extservice.js';
import { validRegex } from './filters.js';
import { referenceAllowed } from './lookups.js';
import type { Translation } from './translation.js';

const Kind = 'SecurityPolicy';

type Policy = SecurityPolicy;
type Field<K extends keyof SecurityPolicySpec> = NonNullable<SecurityPolicySpec[K]>;

/** Which policy gave each field of a (possibly merged) spec. */
export interface Owners {
  basicAuth: Policy;
  apiKeyAuth: Policy;
  authorization: Policy;
  extAuth: Policy;
  extAuthBackendRefs: Policy;
  contextExtensions: Map<string, Policy>;
  oidc: Policy;
  oidcProvider: Policy;
  oidcClientIDRef: Policy;
  oidcClientSecret: Policy;
  jwt: Policy;
}

export function ownersOf(policy: Policy, parent?: Policy): Owners {
  const pick = (has: (s: Partial<SecurityPolicySpec>) => boolean) => (!parent || has(policy.spec ?? {}) ? policy : parent);
  const hasRefs = (e: SecurityPolicySpec['extAuth']) => !!e && (!!e.http?.backendRefs?.length || !!e.http?.backendRef || !!e.grpc?.backendRefs?.length || !!e.grpc?.backendRef);
  const ctx = new Map<string, Policy>();
  if (parent) for (const e of parent.spec?.extAuth?.contextExtensions ?? []) ctx.set(e.name, parent);
  for (const e of policy.spec?.extAuth?.contextExtensions ?? []) ctx.set(e.name, policy);
  return {
    basicAuth: pick((s) => !!s.basicAuth),
    apiKeyAuth: pick((s) => !!s.apiKeyAuth?.credentialRefs?.length),
    authorization: pick((s) => !!s.authorization?.rules?.length),
    extAuth: pick((s) => !!s.extAuth),
    extAuthBackendRefs: pick((s) => hasRefs(s.extAuth)),
    contextExtensions: ctx,
    oidc: pick((s) => !!s.oidc),
    oidcProvider: pick((s) => !!s.oidc?.provider?.backendRefs?.length),
    oidcClientIDRef: pick((s) => !!s.oidc?.clientIDRef),
    oidcClientSecret: pick((s) => !!s.oidc),
    jwt: pick((s) => !!s.jwt?.providers?.length),
  };
}

const configName = (p: Policy) => `securitypolicy/${p.metadata.namespace}/${p.metadata.name}`;
const nsOf = (p: Policy): string => p.metadata?.namespace ?? '';

/** A Secret a policy refers to, checked against ReferenceGrants. */
function secretRef(t: Translation, owner: Policy, ref: { group?: string; kind?: string; name: string; namespace?: string } | undefined): Secret {
  const ns: string = ref?.namespace || nsOf(owner);
  if ((ref?.group ?? '') !== '' || (ref?.kind ?? 'Secret') !== 'Secret') throw new SettingError(`unsupported secret reference kind ${ref?.kind}`);
  if (ns !== nsOf(owner)) {
    const from = { group: EnvoyGatewayGroup, kind: Kind, namespace: nsOf(owner) };
    if (!referenceAllowed(t.lookups.referenceGrants, from, { group: '', kind: 'Secret', namespace: ns, name: ref?.name ?? '' })) {
      throw new SettingError(`secret ref ${ns}/${ref?.name} is not permitted by any ReferenceGrant`);
    }
  }
  const s = t.lookups.secret(ns, ref?.name ?? '');
  if (!s) throw new SettingError(`secret ${ns}/${ref?.name} does not exist`);
  return s;
}

const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

// ---- CORS, CSRF -------------------------------------------------------------------------------

function originMatch(origin: string): ir.StringMatch {
  return origin.includes('*') ? { safeRegex: origin.replaceAll('.', '\\.').replaceAll('*', '.*') } : { exact: origin };
}

/** CSRF compares the Origin header's host (and port): the scheme is left out. */
function csrfOriginMatch(origin: string): ir.StringMatch {
  return originMatch(origin.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ''));
}

export function cors(c: Field<'cors'>): ir.CORS {
  const out: ir.CORS = {};
  if (c.allowOrigins?.length) out.allowOrigins = c.allowOrigins.map(originMatch);
  for (const k of ['allowMethods', 'allowHeaders', 'exposeHeaders'] as const) if (c[k]?.length) out[k] = [...c[k]!];
  if (c.allowCredentials) out.allowCredentials = true;
  const maxAge = parseDuration(c.maxAge);
  if (maxAge !== undefined) out.maxAge = formatDuration(maxAge);
  return out;
}

export function csrf(c: Field<'csrf'>): ir.CSRF {
  const out: ir.CSRF = {};
  if (c.additionalOrigins?.length) out.additionalOrigins = c.additionalOrigins.map(csrfOriginMatch);
  if (c.shadowFraction) out.shadowFraction = { ...c.shadowFraction };
  return out;
}

// ---- JWT --------------------------------------------------------------------------------------

const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

type JWTProvider = Field<'jwt'>['providers'][number];

function validateJWTProviders(providers: readonly JWTProvider[]): void {
  const errs: string[] = [];
  const names = new Set<string>();
  for (const p of providers) {
    const before = errs.length;
    if (!p.name) errs.push('jwt provider cannot be an empty string');
    if (p.issuer) {
      if (p.issuer.includes(':') && !/^[A-Za-z][A-Za-z0-9+.-]*:\S*$/.test(p.issuer)) errs.push("invalid issuer; when issuer contains ':' character, it MUST be a valid URI");
      else if (!p.issuer.includes(':') && p.issuer.includes('@') && !/^[^\s@]+@[^\s@]+$/.test(p.issuer)) errs.push("invalid issuer; when issuer contains '@' character, it MUST be a valid Email Address format");
    }
    if (!!p.remoteJWKS === !!p.localJWKS) errs.push(`either remoteJWKS or localJWKS must be specified for jwt provider: ${p.name}`);
    if (p.remoteJWKS) {
      if (!p.remoteJWKS.uri) errs.push(`uri must be set for remote JWKS provider: ${p.name}`);
      else if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\/\S+$/.test(p.remoteJWKS.uri) && !p.remoteJWKS.uri.startsWith('/')) errs.push('invalid remote JWKS URI');
    }
    if (p.localJWKS) {
      const type = p.localJWKS.type ?? 'Inline';
      if (type === 'Inline' && p.localJWKS.inline === undefined) errs.push(`inline JWKS must be set for local JWKS provider: ${p.name} if type is Inline`);
      if (type === 'ValueRef' && !p.localJWKS.valueRef) errs.push(`valueRef must be set for local JWKS provider: ${p.name} if type is ValueRef`);
    }
    if (errs.length === before) {
      if (!qualifiedName.test(p.name) || p.name.length > 63) errs.push(`name part must consist of alphanumeric characters, '-', '_' or '.'`);
      if (names.has(p.name)) errs.push(`provider name ${p.name} must be unique`);
      names.add(p.name);
    }
    for (const c of p.claimToHeaders ?? []) {
      if (!c.header) errs.push(`header must be set for claimToHeader provider: ${c.header}`);
      else if (!c.claim) errs.push(`claim must be set for claimToHeader provider: ${c.claim}`);
    }
  }
  if (errs.length) throw new SettingError(errs.join('\n'));
}

export function jwt(t: Translation, spec: Field<'jwt'>, owner: Policy, envoyProxy: ProxyConfig | undefined): ir.JWT {
  const providers = spec.providers ?? [];
  validateJWTProviders(providers);
  const out = providers.map((p, i) => {
    const prov: ir.JWTProvider = { name: p.name };
    if (p.issuer) prov.issuer = p.issuer;
    if (p.audiences?.length) prov.audiences = [...p.audiences];
    if (p.claimToHeaders?.length) prov.claimToHeaders = p.claimToHeaders.map((c) => ({ header: c.header, claim: c.claim }));
    if (p.recomputeRoute !== undefined && p.recomputeRoute !== null) prov.recomputeRoute = p.recomputeRoute;
    if (p.extractFrom) prov.extractFrom = structuredClone(p.extractFrom);
    if (p.remoteJWKS) prov.remoteJWKS = remoteJWKS(t, p.remoteJWKS, i, owner, envoyProxy);
    else prov.localJWKS = localJWKS(t, p.localJWKS!, owner);
    return prov;
  });
  const r: ir.JWT = { providers: out };
  if (spec.optional) r.allowMissing = true;
  return r;
}

function remoteJWKS(t: Translation, r: NonNullable<JWTProvider['remoteJWKS']>, index: number, owner: Policy, envoyProxy: ProxyConfig | undefined): ir.RemoteJWKS {
  const out: ir.RemoteJWKS = { uri: r.uri };
  const protocol = r.uri.startsWith('https') ? 'HTTPS' : 'HTTP';
  if (r.backendRefs?.length || r.backendRef) {
    const d = extServiceDestination(t, owner, Kind, r.backendRefs?.length ? r.backendRefs : [r.backendRef!], protocol, envoyProxy, 'jwt', index);
    if ('error' in d) throw new SettingError(d.error);
    out.destination = d.destination;
  }
  const traffic = clusterTraffic(r.backendSettings);
  if (traffic) out.traffic = traffic;
  for (const k of ['cacheDuration', 'failedRefetchDuration'] as const) {
    if (r[k] === undefined || r[k] === null) continue;
    const d = parseDuration(r[k]);
    if (d === undefined) throw new SettingError(`invalid ${k} ${r[k]}`);
    out[k] = formatDuration(d);
  }
  return out;
}

function localJWKS(t: Translation, l: NonNullable<JWTProvider['localJWKS']>, owner: Policy): string {
  if ((l.type ?? 'Inline') !== 'ValueRef') return l.inline ?? '';
  const ns = nsOf(owner);
  const cm = t.lookups.configMap(ns, l.valueRef?.name ?? '');
  if (!cm) throw new SettingError(`local JWKS ConfigMap ${ns}/${l.valueRef?.name} not found`);
  const data: Record<string, string> = cm.data ?? {};
  if (data.jwks !== undefined) return data.jwks;
  const first = Object.keys(data)[0];
  if (first !== undefined) return data[first]!;
  throw new SettingError(`JWKS data not found in ConfigMap ${ns}/${l.valueRef?.name}`);
}

// ---- OIDC -------------------------------------------------------------------------------------

const defaultRedirectURL = '%REQ(x-forwarded-proto)%://%REQ(:authority)%/oauth2/callback';

function redirectPathOf(url: string): string {
  const i = url.indexOf('://');
  const scheme = i > 0 ? url.slice(0, i) : '';
  if (scheme !== 'http' && scheme !== 'https' && scheme !== '%REQ(x-forwarded-proto)%') throw new SettingError(`invalid redirect URL ${url}`);
  const slash = url.indexOf('/', i + 3);
  if (slash <= i + 3) throw new SettingError(`invalid redirect URL ${url}`);
  const path = url.slice(slash);
  if (path === '/') throw new SettingError(`invalid redirect URL ${url}`);
  return path;
}

/** FNV-1a (32 bits) as 8 hex digits: names the OIDC cookies of one policy. */
function digest32(s: string): string {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

const duration = (v: unknown, what: string) => {
  if (v === undefined || v === null) return undefined;
  const d = parseDuration(v);
  if (d === undefined) throw new SettingError(`invalid ${what}: ${String(v)}`);
  return formatDuration(d);
};

export function oidc(t: Translation, o: Field<'oidc'>, owners: Owners, envoyProxy: ProxyConfig | undefined): ir.OIDC {
  const provider = oidcProvider(t, o.provider ?? {}, owners.oidcProvider, envoyProxy);
  let clientID: string;
  if (o.clientID) clientID = o.clientID;
  else if (o.clientIDRef) {
    const s = secretRef(t, owners.oidcClientIDRef, o.clientIDRef);
    const v = s.data?.['client-id'];
    if (!v) throw new SettingError(`client ID not found in secret ${s.metadata.namespace}/${s.metadata.name}`);
    clientID = decode(v);
  } else throw new SettingError('client ID must be specified in OIDC policy');
  const secret = secretRef(t, owners.oidcClientSecret, o.clientSecret);
  if (!secret.data?.['client-secret']) throw new SettingError(`client secret not found in secret ${secret.metadata.namespace}/${secret.metadata.name}`);
  const hmac = t.lookups.secret(t.settings.controllerNamespace, 'envoy-oidc-hmac');
  if (!hmac?.data?.['hmac-secret']) throw new SettingError(`HMAC secret ${t.settings.controllerNamespace}/envoy-oidc-hmac not found`);
  const scopes: string[] = [...(o.scopes ?? [])];
  if (!scopes.includes('openid')) scopes.push('openid');
  const redirectURL: string = o.redirectURL ?? defaultRedirectURL;
  const redirectPath = o.redirectURL ? redirectPathOf(o.redirectURL) : '/oauth2/callback';
  const owner = owners.oidc;
  const out: ir.OIDC = {
    name: configName(owner),
    provider,
    clientID,
    clientSecret: secret.data['client-secret'],
    scopes,
    redirectURL,
    redirectPath,
    logoutPath: o.logoutPath ?? '/logout',
    forwardAccessToken: !!o.forwardAccessToken,
    refreshToken: o.refreshToken ?? true,
    cookieSuffix: digest32(owner.metadata?.uid ?? ''),
    hmacSecret: hmac.data['hmac-secret'],
    passThroughAuthHeader: !!o.passThroughAuthHeader,
    disableTokenEncryption: !!o.disableTokenEncryption,
  };
  if (o.resources?.length) out.resources = [...o.resources];
  if (o.cookieNames) out.cookieNameOverrides = { ...o.cookieNames };
  if (o.cookieDomain) out.cookieDomain = o.cookieDomain;
  if (o.cookieConfig) out.cookieConfig = { ...o.cookieConfig };
  if (o.denyRedirect) out.denyRedirect = structuredClone(o.denyRedirect);
  if (o.forwardIDToken?.header) out.forwardIDTokenHeader = o.forwardIDToken.header;
  const ttl = duration(o.defaultTokenTTL, 'defaultTokenTTL');
  if (ttl) out.defaultTokenTTL = ttl;
  const rttl = duration(o.defaultRefreshTokenTTL, 'defaultRefreshTokenTTL');
  if (rttl) out.defaultRefreshTokenTTL = rttl;
  const csrf = duration(o.csrfTokenTTL, 'csrfTokenTTL');
  if (csrf) out.csrfTokenTTL = csrf;
  return out;
}

function oidcProvider(t: Translation, p: Partial<Field<'oidc'>['provider']>, owner: Policy, envoyProxy: ProxyConfig | undefined): ir.OIDCProvider {
  // Endpoints not given come from the issuer's discovery document, which the provider fetched
  // (the translator does no I/O): without it they cannot be known.
  let { authorizationEndpoint, tokenEndpoint, endSessionEndpoint } = p;
  if (!authorizationEndpoint || !tokenEndpoint) {
    const doc = p.issuer ? t.resources.oidcDiscovery?.[p.issuer] : undefined;
    if (!doc) throw new SettingError(`failed fetching openid-configuration from issuer URL: ${p.issuer}: the discovery document is not available`);
    authorizationEndpoint ||= doc.authorization_endpoint;
    tokenEndpoint ||= doc.token_endpoint;
    endSessionEndpoint ||= doc.end_session_endpoint;
    if (!authorizationEndpoint || !tokenEndpoint) throw new SettingError(`the openid-configuration of issuer ${p.issuer} has no authorization or token endpoint`);
  }
  const protocol = tokenEndpoint.startsWith('https') ? 'HTTPS' : 'HTTP';
  const out: ir.OIDCProvider = { authorizationEndpoint, tokenEndpoint };
  if (p.backendRefs?.length) {
    const d = extServiceDestination(t, owner, Kind, p.backendRefs, protocol, envoyProxy, 'oidc', 0);
    if ('error' in d) throw new SettingError(d.error);
    out.destination = d.destination;
  }
  const host = /^[a-z]+:\/\/\[?([^/\]:]+)/i.exec(tokenEndpoint)?.[1] ?? '';
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host) || host.includes(':')) throw new SettingError(`token endpoint URL must be a domain name: ${tokenEndpoint}`);
  if (endSessionEndpoint) out.endSessionEndpoint = endSessionEndpoint;
  const traffic = clusterTraffic(p.backendSettings);
  if (traffic) out.traffic = traffic;
  return out;
}

// ---- basic auth, API keys ---------------------------------------------------------------------

export function basicAuth(t: Translation, b: Field<'basicAuth'>, owner: Policy): ir.BasicAuth {
  const s = secretRef(t, owner, b.users);
  const raw = s.data?.['.htpasswd'];
  if (!raw) throw new SettingError(`secret ${s.metadata.namespace}/${s.metadata.name} must contain a non-empty ".htpasswd" key`);
  const users = decode(raw).replaceAll('\r\n', '\n');
  for (let line of users.split('\n')) {
    line = line.trim();
    if (!line) continue;
    const i = line.indexOf(':');
    if (i < 0) throw new SettingError("invalid htpasswd format: each line must be in the format 'username:password'");
    const pw = line.slice(i + 1);
    if (!pw.startsWith('{SHA}')) throw new SettingError('unsupported htpasswd format: please use {SHA}');
    const sha = pw.slice(5);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(sha) || Buffer.from(sha, 'base64').length !== 20) throw new SettingError('invalid htpasswd format: {SHA} must be SHA1 (20 bytes)');
  }
  const out: ir.BasicAuth = { name: configName(owner), users: raw };
  if (b.forwardUsernameHeader) out.forwardUsernameHeader = b.forwardUsernameHeader;
  return out;
}

export function apiKeyAuth(t: Translation, a: Field<'apiKeyAuth'>, owner: Policy): ir.APIKeyAuth {
  for (const e of a.extractFrom ?? []) {
    const given = [e.headers?.length, e.params?.length, e.cookies?.length].filter(Boolean).length;
    if (given > 1) throw new SettingError('only one of headers, params or cookies must be specified');
  }
  const creds: ir.APIKeyAuth['credentials'] = [];
  const keys = new Set<string>();
  const clients = new Set<string>();
  for (const ref of a.credentialRefs ?? []) {
    const s = secretRef(t, owner, ref);
    const data: Record<string, string> = s.data ?? {};
    for (const client of Object.keys(data).sort()) {
      if (clients.has(client)) continue;
      const key = data[client]!;
      if (keys.has(key)) throw new SettingError('duplicated API key');
      keys.add(key);
      clients.add(client);
      creds.push({ client: Buffer.from(client, 'utf8').toString('base64'), key });
    }
  }
  const out: ir.APIKeyAuth = {
    credentials: creds,
    extractFrom: (a.extractFrom ?? []).map((e) => {
      const x: ir.APIKeyAuth['extractFrom'][number] = {};
      for (const k of ['headers', 'cookies', 'params'] as const) if (e[k]?.length) x[k] = [...e[k]!];
      return x;
    }),
  };
  if (a.forwardClientIDHeader) out.forwardClientIDHeader = a.forwardClientIDHeader;
  if (a.sanitize) out.sanitize = true;
  return out;
}

// ---- external authorization -------------------------------------------------------------------

export function extAuth(t: Translation, e: Field<'extAuth'>, owners: Owners, envoyProxy: ProxyConfig | undefined): ir.ExtAuth {
  if (!e.http && !e.grpc) throw new SettingError('one of grpc or http must be specified');
  if (e.http && e.grpc) throw new SettingError('only one of grpc or http can be specified');
  const svc = (e.http ?? e.grpc)!;
  const refs = svc.backendRefs?.length ? svc.backendRefs : svc.backendRef ? [svc.backendRef] : [];
  if (!refs.length) throw new SettingError(`${e.http ? 'http' : 'grpc'} backend refs must be specified`);
  const refsOwner = owners.extAuthBackendRefs;
  const d = extServiceDestination(t, refsOwner, Kind, refs, e.http ? 'HTTP' : 'GRPC', envoyProxy, 'extauth', 0);
  if ('error' in d) throw new SettingError(d.error);
  const authority = extServiceAuthority(t, refs[0]!, nsOf(refsOwner));
  const out: ir.ExtAuth = { name: configName(owners.extAuth) };
  if (e.headersToExtAuth?.length) out.headersToExtAuth = [...e.headersToExtAuth];
  const ctx = contextExtensions(t, e.contextExtensions, owners);
  if (ctx) out.contextExtensions = ctx;
  if (e.failOpen !== undefined && e.failOpen !== null) out.failOpen = e.failOpen;
  const traffic = clusterTraffic(svc.backendSettings);
  if (traffic) out.traffic = traffic;
  if (e.recomputeRoute !== undefined && e.recomputeRoute !== null) out.recomputeRoute = e.recomputeRoute;
  if (e.includeRouteMetadata !== undefined && e.includeRouteMetadata !== null) out.includeRouteMetadata = e.includeRouteMetadata;
  const timeout = parseDuration(e.timeout);
  if (timeout !== undefined) out.timeout = formatDuration(timeout);
  if (e.statusOnError !== undefined && e.statusOnError !== null) out.statusOnError = e.statusOnError;
  if (e.http) {
    const h: NonNullable<ir.ExtAuth['http']> = { destination: d.destination, authority };
    if (e.http.path) h.path = e.http.path;
    if (e.http.pathOverride) h.pathOverride = e.http.pathOverride;
    if (e.http.headersToBackend?.length) h.headersToBackend = [...e.http.headersToBackend];
    out.http = h;
  } else out.grpc = { destination: d.destination, authority };
  if (e.bodyToExtAuth) out.bodyToExtAuth = { maxRequestBytes: e.bodyToExtAuth.maxRequestBytes };
  return out;
}

function contextExtensions(t: Translation, exts: Field<'extAuth'>['contextExtensions'], owners: Owners): ir.ExtAuth['contextExtensions'] {
  if (!exts?.length) return undefined;
  const utf8 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return exts.map((x) => {
    // The value as bytes (base64): a literal or a ConfigMap value is text, a Secret's is bytes.
    let value = utf8(x.value ?? '');
    if (x.type === 'ValueRef') {
      const owner = owners.contextExtensions.get(x.name) ?? owners.extAuth;
      const ns = nsOf(owner);
      const ref: Partial<NonNullable<typeof x.valueRef>> = x.valueRef ?? {};
      if (ref.kind === 'ConfigMap') {
        const cm = t.lookups.configMap(ns, ref.name ?? '');
        if (!cm) throw new SettingError(`can't find the referenced configmap "${ref.name}" in namespace "${ns}"`);
        const text = cm.data?.[ref.key ?? ''];
        if (text === undefined) throw new SettingError(`can't find the key "${ref.key}" in the referenced configmap "${ref.name}"`);
        value = utf8(text);
      } else if (ref.kind === 'Secret') {
        const s = t.lookups.secret(ns, ref.name ?? '');
        if (!s) throw new SettingError(`can't find the referenced secret "${ref.name}" in namespace "${ns}"`);
        const bytes = s.data?.[ref.key ?? ''];
        if (bytes === undefined) throw new SettingError(`can't find the key "${ref.key}" in the referenced secret "${ref.name}"`);
        value = bytes;
      } else throw new SettingError(`unexpected reference to kind "${ref.kind}"`);
    }
    return { name: x.name, value };
  });
}

// ---- authorization ----------------------------------------------------------------------------

export function cidrMatch(cidr: string): ir.CIDRMatch {
  const m = /^(.+)\/(\d+)$/.exec(cidr);
  if (!m) throw new SettingError(`invalid CIDR ${cidr}`);
  const isIPv6 = m[1]!.includes(':');
  const len = Number(m[2]);
  if (len > (isIPv6 ? 128 : 32)) throw new SettingError(`invalid CIDR ${cidr}`);
  return { cidr, isIPv6, maskLen: len, distinct: false, invert: false };
}

export function authorization(a: Field<'authorization'>, owner: Policy): ir.Authorization {
  const out: ir.Authorization = { defaultAction: a.defaultAction ?? 'Deny' };
  const rules = (a.rules ?? []).map((r, i) => {
    const principal: ir.Principal = {};
    const p: NonNullable<typeof r.principal> = r.principal ?? {};
    if (p.clientCIDRs?.length) principal.clientCIDRs = p.clientCIDRs.map((c) => cidrMatch(c));
    if (p.jwt) principal.jwt = structuredClone(p.jwt);
    if (p.headers?.length) principal.headers = structuredClone(p.headers);
    if (p.clientIPGeoLocations?.length) principal.clientIPGeoLocations = structuredClone(p.clientIPGeoLocations);
    const path = r.operation?.path;
    if (path && (path.type ?? 'PathPrefix') === 'RegularExpression' && !validRegex(path.value)) throw new SettingError(`invalid regex ${path.value}`);
    const rule: ir.AuthorizationRule = { name: r.name || `${configName(owner)}/authorization/rule/${i}`, action: r.action, principal };
    if (r.operation) rule.operation = structuredClone(r.operation);
    if (r.cel) rule.cel = r.cel;
    return rule;
  });
  if (rules.length) out.rules = rules;
  return out;
}

/** What the authorization rules need from the GeoIP databases, and whether they use GeoIP at all. */
export function geoIPNeeds(auth: ir.Authorization | undefined): { used: boolean; country: boolean; region: boolean; city: boolean; asn: boolean; isp: boolean; anonymous: boolean } {
  const n = { used: false, country: false, region: false, city: false, asn: false, isp: false, anonymous: false };
  for (const r of auth?.rules ?? []) {
    for (const g of r.principal?.clientIPGeoLocations ?? []) {
      n.used = true;
      if (g.country) n.country = true;
      if (g.region) n.region = true;
      if (g.city) n.city = true;
      if (g.asn !== undefined) n.asn = true;
      if (g.isp) n.isp = true;
      if (g.anonymous) n.anonymous = true;
    }
  }
  return n;
}

/** The GeoIP provider a listener needs for authorization by client location, or why it cannot have one. */
export function geoIPProvider(auth: ir.Authorization, envoyProxy: ProxyConfig | undefined, clientIPDetection: ir.ClientIPDetection | undefined): { provider: ir.GeoIPProvider } | { error: string } {
  if (!clientIPDetection) return { error: 'authorization clientIPGeoLocations requires ClientTrafficPolicy.spec.clientIPDetection to be configured' };
  const modes = (['xForwardedFor', 'customHeader', 'directSourceIP'] as const).filter((k) => clientIPDetection[k]).length;
  if (modes !== 1) return { error: 'authorization clientIPGeoLocations requires exactly one of ClientTrafficPolicy.spec.clientIPDetection.{xForwardedFor,customHeader,directSourceIP}' };
  if (clientIPDetection.xForwardedFor?.trustedCIDRs?.length) return { error: 'authorization clientIPGeoLocations does not support ClientIPDetection.XForwardedFor.TrustedCIDRs' };
  const p = envoyProxy?.spec?.geoIP?.provider;
  if (!p || p.type !== 'MaxMind' || !p.maxMind) return { error: 'authorization clientIPGeoLocations requires EnvoyProxy.spec.geoIP.provider to be configured' };
  const mm = p.maxMind;
  const path = (src: { local?: { path?: string } } | undefined) => src?.local?.path;
  const maxMind: NonNullable<ir.GeoIPProvider['maxMind']> = {};
  const set = (k: keyof typeof maxMind, v: string | undefined) => v !== undefined && (maxMind[k] = v);
  set('cityDbPath', path(mm.cityDbSource));
  set('countryDbPath', path(mm.countryDbSource));
  set('asnDbPath', path(mm.asnDbSource));
  set('ispDbPath', path(mm.ispDbSource));
  set('anonymousIpDbPath', path(mm.anonymousIpDbSource));
  const n = geoIPNeeds(auth);
  if (n.country && !maxMind.countryDbPath && !maxMind.cityDbPath) return { error: 'authorization clientIPGeoLocations.country requires a country or city database' };
  if ((n.region || n.city) && !maxMind.cityDbPath) return { error: 'authorization clientIPGeoLocations.region/city requires a city database' };
  if (n.asn && !maxMind.asnDbPath) return { error: 'authorization clientIPGeoLocations.asn requires an ASN database' };
  if (n.isp && !maxMind.ispDbPath) return { error: 'authorization clientIPGeoLocations.isp requires an ISP database' };
  if (n.anonymous && !maxMind.anonymousIpDbPath) return { error: 'authorization clientIPGeoLocations.anonymous requires an anonymous IP database' };
  return { provider: { maxMind } };
}
