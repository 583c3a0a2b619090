// envoy.filters.http.oauth2: the OpenID Connect authorization-code flow at the proxy. Envoy
// Gateway installs the filter empty and gives each route its OAuth2PerRoute config. A request
// with valid session cookies (an HMAC over the host, expiry and tokens, keyed by the HMAC
// secret) goes on, with the access token as a bearer token and the ID token in a header when
// configured; an expired session is renewed with the refresh token; otherwise the client is
// sent (302) to the authorization endpoint with a CSRF-protected state and a PKCE challenge.
// The callback path exchanges the code at the token endpoint (through its cluster, client
// secret by Basic auth or in the body), sets the session cookies and sends the client back to
// where it started. The sign-out path clears the cookies. Requests matching the pass-through
// matchers are not touched; those matching deny_redirect get 401 instead of a redirect.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../../config/errors.js';
import { at, bool, durationMs, enumOf, field, list, obj, str, type Json } from '../../config/json.js';
import { compileHeaderMatcher } from '../../router/route_match.js';
import { cookies, queryParams } from '../../router/request.js';
import { compileStringMatcher, type StringMatch } from '../../router/string_match.js';
import type { SecretStore } from '../../tls/secrets.js';
import { callCluster, compileCallRetry, compileHttpUri, type CallRetryPolicy, type HttpUri } from '../async_client.js';
import { FilterStatus, type FilterFactoryContext, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { compileFormat, type ValueFormatter } from '../header_mutation.js';
import { getHeader, removeHeader, setHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { FilterStats, removeCookie } from './auth_common.js';

interface CookieNames { bearerToken: string; oauthHmac: string; oauthExpires: string; idToken: string; refreshToken: string; oauthNonce: string; codeVerifier: string }

interface OAuth2Config {
  tokenEndpoint: HttpUri;
  retry: CallRetryPolicy | undefined;
  authorizationEndpoint: URL;
  clientId: string;
  tokenSecret: string;
  hmacSecret: string;
  cookieNames: CookieNames;
  cookieDomain: string;
  sameSite: Partial<Record<keyof CookieNames, string>>;
  redirectUri: string | ValueFormatter;
  redirectPath: StringMatch;
  signoutPath: StringMatch;
  forwardBearerToken: boolean;
  preserveAuthorizationHeader: boolean;
  forwardIdTokenHeader: string;
  passThrough: ((s: HttpStream) => boolean)[];
  denyRedirect: ((s: HttpStream) => boolean)[];
  scopes: string;
  resources: string[];
  basicAuth: boolean;
  useRefreshToken: boolean;
  defaultExpiresInSec: number;
  defaultRefreshExpiresInSec: number;
  csrfExpiresInSec: number;
  encryptTokens: boolean;
  /** SDS secrets this config reads (what the proxy subscribes to). */
  sdsSecretNames: string[];
}

function sdsName(c: Json | undefined, path: string): string {
  const name = c ? str(c, 'name', path) : '';
  if (!name) throw new ConfigError(at(path, 'name'), 'required');
  return name;
}

function pathMatcher(c: Json | undefined, path: string): StringMatch {
  const p = c && obj(c, 'path', path);
  if (!p) throw new ConfigError(at(path, 'path'), 'required');
  return compileStringMatcher(p, at(path, 'path'));
}

function compileConfig(c: Json, path: string): OAuth2Config {
  const cred = obj(c, 'credentials', path);
  const cp = at(path, 'credentials');
  if (!cred) throw new ConfigError(cp, 'required');
  if (obj(cred, 'hmacSecret', cp) === undefined) throw new ConfigError(at(cp, 'hmacSecret'), 'required');
  const cn = obj(cred, 'cookieNames', cp) ?? {};
  const cnp = at(cp, 'cookieNames');
  const cookieNames: CookieNames = {
    bearerToken: str(cn, 'bearerToken', cnp) || 'BearerToken',
    oauthHmac: str(cn, 'oauthHmac', cnp) || 'OauthHMAC',
    oauthExpires: str(cn, 'oauthExpires', cnp) || 'OauthExpires',
    idToken: str(cn, 'idToken', cnp) || 'IdToken',
    refreshToken: str(cn, 'refreshToken', cnp) || 'RefreshToken',
    oauthNonce: str(cn, 'oauthNonce', cnp) || 'OauthNonce',
    codeVerifier: str(cn, 'codeVerifier', cnp) || 'CodeVerifier',
  };
  const sameSite: OAuth2Config['sameSite'] = {};
  const cc = obj(c, 'cookieConfigs', path);
  if (cc) {
    for (const [field_, key] of [['bearerTokenCookieConfig', 'bearerToken'], ['oauthHmacCookieConfig', 'oauthHmac'], ['oauthExpiresCookieConfig', 'oauthExpires'],
      ['idTokenCookieConfig', 'idToken'], ['refreshTokenCookieConfig', 'refreshToken'], ['oauthNonceCookieConfig', 'oauthNonce'], ['codeVerifierCookieConfig', 'codeVerifier']] as const) {
      const x = obj(cc, field_, at(path, 'cookieConfigs'));
      const v = x && enumOf(x, 'sameSite', at(at(path, 'cookieConfigs'), field_), ['DISABLED', 'STRICT', 'LAX', 'NONE'] as const, 'DISABLED');
      if (v && v !== 'DISABLED') sameSite[key] = v[0] + v.slice(1).toLowerCase();
    }
  }
  let authorizationEndpoint: URL;
  try { authorizationEndpoint = new URL(str(c, 'authorizationEndpoint', path)); } catch { throw new ConfigError(at(path, 'authorizationEndpoint'), 'a URL is required'); }
  const headerMatchers = (name: string) => list(c, name, path).map((m: Json, i: number) => compileHeaderMatcher(m, at(at(path, name), i)));
  const tokenSecret = sdsName(obj(cred, 'tokenSecret', cp), at(cp, 'tokenSecret'));
  const hmacSecret = sdsName(obj(cred, 'hmacSecret', cp), at(cp, 'hmacSecret'));
  for (const unsupported of ['endSessionEndpoint', 'useRefreshTokenWithClientCredentials']) {
    if (field(c, unsupported) !== undefined && field(c, unsupported) !== '' && field(c, unsupported) !== false) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  const fit = obj(c, 'forwardIdToken', path);
  return {
    tokenEndpoint: compileHttpUri(obj(c, 'tokenEndpoint', path), at(path, 'tokenEndpoint')),
    retry: compileCallRetry(obj(c, 'retryPolicy', path), at(path, 'retryPolicy')),
    authorizationEndpoint,
    clientId: str(cred, 'clientId', cp),
    tokenSecret,
    hmacSecret,
    cookieNames,
    cookieDomain: str(cred, 'cookieDomain', cp),
    sameSite,
    redirectUri: compileFormat(str(c, 'redirectUri', path), at(path, 'redirectUri')),
    redirectPath: pathMatcher(obj(c, 'redirectPathMatcher', path), at(path, 'redirectPathMatcher')),
    signoutPath: pathMatcher(obj(c, 'signoutPath', path), at(path, 'signoutPath')),
    forwardBearerToken: bool(c, 'forwardBearerToken', path),
    preserveAuthorizationHeader: bool(c, 'preserveAuthorizationHeader', path),
    forwardIdTokenHeader: fit ? str(fit, 'header', at(path, 'forwardIdToken')).toLowerCase() : '',
    passThrough: headerMatchers('passThroughMatcher'),
    denyRedirect: headerMatchers('denyRedirectMatcher'),
    scopes: (list(c, 'authScopes', path).length ? list(c, 'authScopes', path).map(String) : ['user']).join(' '),
    resources: list(c, 'resources', path).map(String),
    basicAuth: enumOf(c, 'authType', path, ['URL_ENCODED_BODY', 'BASIC_AUTH', 'TLS_CLIENT_AUTH'] as const, 'URL_ENCODED_BODY') === 'BASIC_AUTH',
    useRefreshToken: bool(c, 'useRefreshToken', path, true),
    defaultExpiresInSec: Math.floor((durationMs(c, 'defaultExpiresIn', path) ?? 0) / 1000),
    defaultRefreshExpiresInSec: Math.floor((durationMs(c, 'defaultRefreshTokenExpiresIn', path) ?? 604800_000) / 1000),
    csrfExpiresInSec: Math.floor((durationMs(c, 'csrfTokenExpiresIn', path) ?? 600_000) / 1000),
    encryptTokens: !bool(c, 'disableTokenEncryption', path),
    sdsSecretNames: [tokenSecret, hmacSecret],
  };
}

// --- cookies and tokens ---

interface Session { expires: number; access: string; id: string; refresh: string }

function b64url(b: Buffer): string { return b.toString('base64url'); }

/** Tokens are kept encrypted in cookies (AES-256-GCM, key from the HMAC secret) unless disabled. */
function seal(key: Buffer, text: string): string {
  if (!text) return '';
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', createHash('sha256').update(key).digest(), iv);
  const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
  return b64url(Buffer.concat([iv, c.getAuthTag(), body]));
}

function unseal(key: Buffer, sealed: string): string | undefined {
  if (!sealed) return '';
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const d = createDecipheriv('aes-256-gcm', createHash('sha256').update(key).digest(), raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
  } catch { return undefined; }
}

function sessionHmac(key: Buffer, host: string, expires: string, bearer: string, id: string, refresh: string): string {
  return createHmac('sha256', key).update(`${host}\n${expires}\n${bearer}\n${id}\n${refresh}`).digest('base64');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function hostOnly(authority: string): string {
  const i = authority.lastIndexOf(':');
  return i > 0 && !authority.endsWith(']') ? authority.slice(0, i) : authority;
}

const STATS = ['oauth_unauthorized_rq', 'oauth_failure', 'oauth_passthrough', 'oauth_success', 'oauth_refreshtoken_success', 'oauth_refreshtoken_failure'] as const;

class OAuth2Filter implements HttpFilter {
  private readonly stats = new FilterStats('', STATS);

  constructor(readonly name: string, private readonly base: OAuth2Config | undefined, private readonly secrets: SecretStore | undefined) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const pf = s.perFilterConfig(this.name);
    const cfg = (pf?.config as OAuth2Config | undefined) ?? this.base;
    if (!cfg || pf?.disabled) return FilterStatus.Continue;
    const stats = this.stats.of(s);
    if (cfg.passThrough.some((m) => m(s))) { stats.oauth_passthrough.value++; return FilterStatus.Continue; }
    const hmacKey = this.secret(cfg.hmacSecret);
    const clientSecret = this.secret(cfg.tokenSecret);
    if (!hmacKey || !clientSecret) return this.fail(s, 'oauth2_secrets_unavailable');
    if (!cfg.preserveAuthorizationHeader) removeHeader(s.headers, 'authorization');
    const path = s.pathOnly;
    if (cfg.signoutPath(path)) { this.signOut(s, cfg); return FilterStatus.Stop; }
    const session = this.session(s, cfg, hmacKey);
    if (cfg.redirectPath(path)) { this.callback(s, cfg, hmacKey, clientSecret); return FilterStatus.Stop; }
    if (session && session.expires > Date.now() / 1000) { this.forward(s, cfg, session); return FilterStatus.Continue; }
    if (session?.refresh && cfg.useRefreshToken) { this.refresh(s, cfg, hmacKey, clientSecret, session.refresh); return FilterStatus.Stop; }
    this.login(s, cfg, hmacKey);
    return FilterStatus.Stop;
  }

  private secret(name: string): Buffer | undefined {
    const sec = this.secrets?.get(name);
    return sec?.kind === 'genericSecret' && sec.secret.length ? sec.secret : undefined;
  }

  /** The session the cookies carry, when their HMAC holds (expired or not). */
  private session(s: HttpStream, cfg: OAuth2Config, key: Buffer): Session | undefined {
    const c = cookies(s);
    const n = cfg.cookieNames;
    const hmac = c.get(n.oauthHmac);
    const expires = c.get(n.oauthExpires);
    if (!hmac || !expires) return undefined;
    const bearer = c.get(n.bearerToken) ?? '';
    const id = c.get(n.idToken) ?? '';
    const refresh = c.get(n.refreshToken) ?? '';
    if (!safeEqual(hmac, sessionHmac(key, hostOnly(s.authority), expires, bearer, id, refresh))) return undefined;
    const open = (v: string) => (cfg.encryptTokens ? unseal(key, v) : v);
    const access = open(bearer);
    const idt = open(id);
    const ref = open(refresh);
    if (access === undefined || idt === undefined || ref === undefined) return undefined;
    return { expires: Number(expires), access, id: idt, refresh: ref };
  }

  /** An authenticated request goes upstream with its tokens where configured, without the session cookies. */
  private forward(s: HttpStream, cfg: OAuth2Config, session: Session): void {
    this.stats.of(s).oauth_success.value++;
    if (cfg.forwardBearerToken && session.access) setHeader(s.headers, 'authorization', `Bearer ${session.access}`);
    if (cfg.forwardIdTokenHeader && session.id) setHeader(s.headers, cfg.forwardIdTokenHeader, cfg.forwardIdTokenHeader === 'authorization' ? `Bearer ${session.id}` : session.id);
    const n = cfg.cookieNames;
    for (const name of [n.oauthHmac, n.oauthExpires, n.bearerToken, n.idToken, n.refreshToken]) if (cookies(s).has(name)) removeCookie(s, name);
  }

  private originalUrl(s: HttpStream): string {
    const proto = getHeader(s.headers, 'x-forwarded-proto') ?? s.scheme;
    return `${proto}://${s.authority}${s.path}`;
  }

  private redirectUri(s: HttpStream, cfg: OAuth2Config): string {
    return typeof cfg.redirectUri === 'string' ? cfg.redirectUri : cfg.redirectUri(s);
  }

  private cookie(cfg: OAuth2Config, key: keyof CookieNames, value: string, maxAge: number): string {
    let c = `${cfg.cookieNames[key]}=${value};path=/;Max-Age=${Math.max(0, Math.floor(maxAge))};secure;HttpOnly`;
    if (cfg.sameSite[key]) c += `;SameSite=${cfg.sameSite[key]}`;
    if (cfg.cookieDomain) c += `;domain=${cfg.cookieDomain}`;
    return c;
  }

  private login(s: HttpStream, cfg: OAuth2Config, key: Buffer): void {
    const stats = this.stats.of(s);
    if (cfg.denyRedirect.some((m) => m(s))) {
      stats.oauth_unauthorized_rq.value++;
      s.sendLocalReply(401, 'OAuth flow failed.', 'oauth.unauthorized_rq');
      return;
    }
    // The CSRF token: a nonce and its HMAC; the cookie and the state must both carry it.
    const nonce = b64url(randomBytes(16));
    const csrf = `${nonce}.${createHmac('sha256', key).update(nonce).digest('base64url')}`;
    const state = b64url(Buffer.from(JSON.stringify({ url: this.originalUrl(s), csrf_token: csrf })));
    const verifier = b64url(randomBytes(32));
    const u = new URL(cfg.authorizationEndpoint.href);
    u.searchParams.set('client_id', cfg.clientId);
    u.searchParams.set('code_challenge', b64url(createHash('sha256').update(verifier).digest()));
    u.searchParams.set('code_challenge_method', 'S256');
    u.searchParams.set('redirect_uri', this.redirectUri(s, cfg));
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('scope', cfg.scopes);
    u.searchParams.set('state', state);
    for (const r of cfg.resources) u.searchParams.append('resource', r);
    stats.oauth_unauthorized_rq.value++;
    const headers: HeaderList = ['location', u.href,
      'set-cookie', this.cookie(cfg, 'oauthNonce', csrf, cfg.csrfExpiresInSec),
      'set-cookie', this.cookie(cfg, 'codeVerifier', seal(key, verifier), cfg.csrfExpiresInSec)];
    s.sendLocalReply(302, '', 'oauth.redirect_for_credentials', headers);
  }

  private callback(s: HttpStream, cfg: OAuth2Config, key: Buffer, clientSecret: Buffer): void {
    const q = queryParams(s);
    const code = q.get('code');
    const stateParam = q.get('state');
    if (q.has('error') || !code || !stateParam) { this.fail(s, 'oauth.missing_code_or_state'); return; }
    let state: { url?: unknown; csrf_token?: unknown };
    try { state = JSON.parse(Buffer.from(stateParam, 'base64url').toString('utf8')); } catch { this.fail(s, 'oauth.invalid_state'); return; }
    const csrf = typeof state.csrf_token === 'string' ? state.csrf_token : '';
    const [nonce = '', mac = ''] = csrf.split('.');
    const cookieCsrf = cookies(s).get(cfg.cookieNames.oauthNonce) ?? '';
    if (!nonce || !safeEqual(mac, createHmac('sha256', key).update(nonce).digest('base64url')) || !safeEqual(cookieCsrf, csrf)) { this.fail(s, 'oauth.csrf_token_mismatch'); return; }
    const original = typeof state.url === 'string' ? state.url : '';
    let target: URL;
    try { target = new URL(original); } catch { this.fail(s, 'oauth.invalid_state'); return; }
    if (hostOnly(target.host) !== hostOnly(s.authority)) { this.fail(s, 'oauth.invalid_state'); return; }
    const verifier = unseal(key, cookies(s).get(cfg.cookieNames.codeVerifier) ?? '') ?? '';
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.redirectUri(s, cfg) });
    if (verifier) form.set('code_verifier', verifier);
    this.tokenRequest(s, cfg, clientSecret, form).then((t) => {
      if (s.done) return;
      if (!t) { this.fail(s, 'oauth.token_exchange_failed'); return; }
      this.stats.of(s).oauth_success.value++;
      const headers: HeaderList = ['location', target.href];
      for (const c of this.sessionCookies(s, cfg, key, t)) headers.push('set-cookie', c);
      headers.push('set-cookie', `${cfg.cookieNames.oauthNonce}=deleted; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT`);
      headers.push('set-cookie', `${cfg.cookieNames.codeVerifier}=deleted; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT`);
      s.sendLocalReply(302, '', 'oauth.success', headers);
    });
  }

  private refresh(s: HttpStream, cfg: OAuth2Config, key: Buffer, clientSecret: Buffer, refreshToken: string): void {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });
    this.tokenRequest(s, cfg, clientSecret, form).then((t) => {
      if (s.done) return;
      const stats = this.stats.of(s);
      if (!t) { stats.oauth_refreshtoken_failure.value++; this.login(s, cfg, key); return; }
      stats.oauth_refreshtoken_success.value++;
      if (!t.refresh) t.refresh = refreshToken;
      // The renewed session goes upstream now and to the client with the response.
      (s.filterState ??= new Map()).set(this, this.sessionCookies(s, cfg, key, t));
      this.forward(s, cfg, { expires: t.expiresAt, access: t.access, id: t.id, refresh: t.refresh });
      s.continueDecoding();
    });
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    const set = s.filterState?.get(this) as string[] | undefined;
    if (set) for (const c of set) headers.push('set-cookie', c);
  }

  private sessionCookies(s: HttpStream, cfg: OAuth2Config, key: Buffer, t: Tokens): string[] {
    const expires = String(t.expiresAt);
    const wrap = (v: string) => (cfg.encryptTokens ? seal(key, v) : v);
    const bearer = wrap(t.access);
    const id = wrap(t.id);
    const refresh = cfg.useRefreshToken ? wrap(t.refresh) : '';
    const maxAge = t.expiresAt - Math.floor(Date.now() / 1000);
    const out = [
      this.cookie(cfg, 'oauthHmac', sessionHmac(key, hostOnly(s.authority), expires, bearer, id, refresh), maxAge),
      this.cookie(cfg, 'oauthExpires', expires, maxAge),
      this.cookie(cfg, 'bearerToken', bearer, maxAge),
    ];
    if (id) out.push(this.cookie(cfg, 'idToken', id, maxAge));
    if (refresh) out.push(this.cookie(cfg, 'refreshToken', refresh, t.refreshExpiresIn));
    return out;
  }

  private async tokenRequest(s: HttpStream, cfg: OAuth2Config, clientSecret: Buffer, form: URLSearchParams): Promise<Tokens | undefined> {
    const headers: HeaderList = ['content-type', 'application/x-www-form-urlencoded', 'accept', 'application/json'];
    if (cfg.basicAuth) {
      const user = encodeURIComponent(cfg.clientId);
      const pass = encodeURIComponent(clientSecret.toString('utf8'));
      headers.push('authorization', `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`);
    } else {
      form.set('client_id', cfg.clientId);
      form.set('client_secret', clientSecret.toString('utf8'));
    }
    for (const r of cfg.resources) form.append('resource', r);
    const t = cfg.tokenEndpoint;
    const r = await callCluster(s.ctx.clusters, t.cluster, {
      method: 'POST', path: t.path, authority: t.authority, scheme: t.scheme, headers, body: Buffer.from(form.toString()), timeoutMs: t.timeoutMs, retry: cfg.retry,
    }).result;
    if (!r.ok || r.response.status !== 200) return undefined;
    let j: Record<string, unknown>;
    try { j = JSON.parse(r.response.body.toString('utf8')); } catch { return undefined; }
    if (typeof j.access_token !== 'string' || !j.access_token) return undefined;
    const expiresIn = typeof j.expires_in === 'number' ? j.expires_in : Number(j.expires_in) || cfg.defaultExpiresInSec;
    if (!(expiresIn > 0)) return undefined;
    return {
      access: j.access_token,
      id: typeof j.id_token === 'string' ? j.id_token : '',
      refresh: typeof j.refresh_token === 'string' ? j.refresh_token : '',
      expiresAt: Math.floor(Date.now() / 1000) + Math.floor(expiresIn),
      refreshExpiresIn: cfg.defaultRefreshExpiresInSec,
    };
  }

  private signOut(s: HttpStream, cfg: OAuth2Config): void {
    const n = cfg.cookieNames;
    const headers: HeaderList = ['location', `${getHeader(s.headers, 'x-forwarded-proto') ?? s.scheme}://${s.authority}/`];
    for (const name of [n.oauthHmac, n.bearerToken, n.idToken, n.refreshToken, n.oauthNonce, n.codeVerifier]) {
      headers.push('set-cookie', `${name}=deleted; path=/; expires=Thu, 01 Jan 1970 00:00:00 GMT`);
    }
    s.sendLocalReply(302, '', 'oauth.logout', headers);
  }

  private fail(s: HttpStream, details: string): FilterStatus {
    this.stats.of(s).oauth_failure.value++;
    s.sendLocalReply(401, 'OAuth flow failed.', details);
    return FilterStatus.Stop;
  }
}

interface Tokens { access: string; id: string; refresh: string; expiresAt: number; refreshExpiresIn: number }

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.oauth2.v3.OAuth2',
  create(name: string, c: Json, path: string, ctx: FilterFactoryContext): HttpFilter {
    const cfg = obj(c, 'config', path);
    return new OAuth2Filter(name, cfg ? compileConfig(cfg, at(path, 'config')) : undefined, ctx.secrets);
  },
  perRoute: {
    'envoy.extensions.filters.http.oauth2.v3.OAuth2PerRoute': (c: Json, path: string) => {
      const cfg = obj(c, 'config', path);
      if (!cfg) throw new ConfigError(at(path, 'config'), 'required');
      return compileConfig(cfg, at(path, 'config'));
    },
  },
});
