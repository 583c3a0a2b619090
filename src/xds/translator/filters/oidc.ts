// OpenID Connect (SecurityPolicy oidc): Envoy's oauth2 filter, once per listener and configured
// per route (each policy has its own client, cookies and secrets). The client and HMAC secrets
// are served as SDS secrets named after the policy; the token endpoint is reached through the
// provider's backend, or a cluster for its URL.
import type { HTTPListener, HTTPRoute, OIDC } from '../../../ir/xds.js';
import type { Context } from '../context.js';
import { endpointTypeOf } from '../cluster.js';
import { buildRetryPolicy } from '../route-policy.js';
import { addURLCluster, urlCluster } from '../urlcluster.js';
import { adsConfigSource, protoDuration, typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.oauth2';
const defaultTokenTimeout = '10s';

const clientSecretName = (o: OIDC) => `oauth2/client_secret/${o.name}`;
const hmacSecretName = (o: OIDC) => `oauth2/hmac_secret/${o.name}`;

function oidcOf(r: HTTPRoute): OIDC | undefined {
  return r.security?.oidc;
}

function headerMatcher(name: string, type: string | undefined, value: string): Msg {
  let m: Msg;
  switch (type) {
    case 'RegularExpression': m = { safeRegex: { regex: value } }; break;
    case 'Suffix': m = { suffix: value }; break;
    case 'Prefix': m = { prefix: value }; break;
    default: m = { exact: value };
  }
  return { name, stringMatch: m };
}

/**
 * Requests already carrying a token that the route's JWT providers accept skip the login: one
 * matcher per place a provider reads its token from (Authorization: Bearer by default).
 */
function passThroughMatchers(r: HTTPRoute): Msg[] {
  const out: Msg[] = [];
  const seen = new Set<string>();
  const add = (m: Msg) => {
    const k = JSON.stringify(m);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(m);
    }
  };
  for (const p of r.security?.jwt?.providers ?? []) {
    const ex = p.extractFrom;
    if (!ex) {
      add({ name: 'Authorization', stringMatch: { prefix: 'Bearer ' } });
      continue;
    }
    for (const h of ex.headers ?? []) add(h.valuePrefix ? { name: h.name, stringMatch: { prefix: h.valuePrefix } } : { name: h.name });
  }
  return out;
}

function sdsSecret(name: string): Msg {
  return { name, sdsConfig: adsConfigSource() };
}

function buildOAuth2Config(o: OIDC, r: HTTPRoute): Msg {
  const p = o.provider;
  const dest = p.destination;
  const cfg: Msg = {
    tokenEndpoint: {
      uri: p.tokenEndpoint,
      cluster: dest?.name ?? urlCluster(p.tokenEndpoint).name,
      timeout: (dest ? protoDuration(p.traffic?.timeout?.http?.requestTimeout) : undefined) ?? defaultTokenTimeout,
    },
  };
  const retry = p.traffic?.retry ? buildRetryPolicy(p.traffic.retry) : undefined;
  if (retry) {
    const rp: Msg = {};
    if (retry.numRetries !== undefined) rp.numRetries = retry.numRetries;
    if (retry.retryBackOff) rp.retryBackOff = retry.retryBackOff;
    if (retry.retryOn) rp.retryOn = retry.retryOn;
    cfg.retryPolicy = rp;
  }
  cfg.authorizationEndpoint = p.authorizationEndpoint;
  const sfx = o.cookieSuffix;
  const cookieNames: Msg = {
    bearerToken: o.cookieNameOverrides?.accessToken ?? `AccessToken-${sfx}`,
    oauthHmac: `OauthHMAC-${sfx}`,
    oauthExpires: `OauthExpires-${sfx}`,
    idToken: o.cookieNameOverrides?.idToken ?? `IdToken-${sfx}`,
    refreshToken: `RefreshToken-${sfx}`,
    oauthNonce: `OauthNonce-${sfx}`,
  };
  const credentials: Msg = {
    clientId: o.clientID,
    tokenSecret: sdsSecret(clientSecretName(o)),
    hmacSecret: sdsSecret(hmacSecretName(o)),
    cookieNames,
  };
  if (o.cookieDomain) credentials.cookieDomain = o.cookieDomain;
  cfg.credentials = credentials;
  cfg.redirectUri = o.redirectURL;
  cfg.redirectPathMatcher = { path: { exact: o.redirectPath } };
  cfg.signoutPath = { path: { exact: o.logoutPath } };
  if (o.forwardAccessToken) cfg.forwardBearerToken = true;
  if (o.scopes?.length) cfg.authScopes = [...o.scopes];
  if (o.resources?.length) cfg.resources = [...o.resources];
  cfg.authType = 'BASIC_AUTH';
  cfg.useRefreshToken = !!o.refreshToken;
  if (o.defaultTokenTTL) cfg.defaultExpiresIn = protoDuration(o.defaultTokenTTL);
  if (o.defaultRefreshTokenTTL) cfg.defaultRefreshTokenExpiresIn = protoDuration(o.defaultRefreshTokenTTL);
  if (o.csrfTokenTTL) cfg.csrfTokenExpiresIn = protoDuration(o.csrfTokenTTL);
  if (o.disableTokenEncryption) cfg.disableTokenEncryption = true;
  if (o.forwardIDTokenHeader) cfg.forwardIdToken = { header: o.forwardIDTokenHeader };
  // Keep the client's Authorization header unless the filter itself sets it (the access token,
  // or the ID token forwarded as Authorization).
  const setsAuthorization = o.forwardAccessToken || o.forwardIDTokenHeader?.toLowerCase() === 'authorization';
  if (o.passThroughAuthHeader || !setsAuthorization) cfg.preserveAuthorizationHeader = true;
  if (o.passThroughAuthHeader) {
    const pass = passThroughMatchers(r);
    if (pass.length) cfg.passThroughMatcher = pass;
  }
  if (o.denyRedirect?.headers?.length) cfg.denyRedirectMatcher = o.denyRedirect.headers.map((h) => headerMatcher(h.name, h.type, h.value));
  if (o.cookieConfig?.sameSite) {
    const sameSite = o.cookieConfig.sameSite.toUpperCase();
    const c = { sameSite };
    cfg.cookieConfigs = {
      bearerTokenCookieConfig: c, oauthHmacCookieConfig: c, oauthExpiresCookieConfig: c,
      idTokenCookieConfig: c, refreshTokenCookieConfig: c, oauthNonceCookieConfig: c,
    };
  }
  cfg.statPrefix = o.name;
  return cfg;
}

export const oidc: HTTPFeature = {
  filters(l) {
    if (!l.routes?.some(oidcOf)) return [];
    return [{ name: filterType, typedConfig: typed('envoy.extensions.filters.http.oauth2.v3.OAuth2') }];
  },
  perRoute(r) {
    const o = oidcOf(r);
    if (!o) return undefined;
    return { [filterType]: typed('envoy.extensions.filters.http.oauth2.v3.OAuth2PerRoute', { config: buildOAuth2Config(o, r) }) };
  },
  resources(l: HTTPListener, ctx: Context) {
    for (const r of l.routes ?? []) {
      const o = oidcOf(r);
      if (!o) continue;
      const dest = o.provider.destination;
      if (dest?.settings?.length) {
        ctx.addCluster({
          name: dest.name,
          settings: dest.settings,
          endpointType: endpointTypeOf(dest.settings),
          traffic: o.provider.traffic,
          metadata: dest.metadata,
          hashPolicyInCluster: true,
        });
      } else {
        addURLCluster(ctx, urlCluster(o.provider.tokenEndpoint));
      }
      for (const [name, value] of [[clientSecretName(o), o.clientSecret], [hmacSecretName(o), o.hmacSecret]] as const) {
        if (!ctx.table.has('secrets', name)) ctx.table.add('secrets', { name, genericSecret: { secret: { inlineBytes: value ?? '' } } });
      }
    }
  },
};
