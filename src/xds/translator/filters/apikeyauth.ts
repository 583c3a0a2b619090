// API key authentication (SecurityPolicy apiKeyAuth): one api_key_auth filter per listener, off by
// default, turned on per route with that route's clients, where to find the key, and whether to
// forward the client id and hide the key from the backend.
import type { APIKeyAuth, HTTPRoute } from '../../../ir/xds.js';
import { typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.api_key_auth';

const fromBase64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

function apiKeyConfig(a: APIKeyAuth): Msg {
  const cfg: Msg = { credentials: a.credentials.map((c) => ({ key: fromBase64(c.key), client: fromBase64(c.client) })) };
  const sources: Msg[] = [];
  for (const e of a.extractFrom ?? []) {
    for (const header of e.headers ?? []) sources.push({ header });
    for (const query of e.params ?? []) sources.push({ query });
    for (const cookie of e.cookies ?? []) sources.push({ cookie });
  }
  cfg.keySources = sources;
  if (a.forwardClientIDHeader || a.sanitize) {
    const f: Msg = {};
    if (a.forwardClientIDHeader) f.header = a.forwardClientIDHeader;
    if (a.sanitize) f.hideCredentials = true;
    cfg.forwarding = f;
  }
  return cfg;
}

function apiKeyOf(r: HTTPRoute): APIKeyAuth | undefined {
  return r.security?.apiKeyAuth;
}

export const apiKeyAuth: HTTPFeature = {
  filters(l) {
    // The listener-level config is a placeholder (the first route's): each route brings its own.
    const first = l.routes?.map(apiKeyOf).find((a) => a);
    if (!first) return [];
    return [{ name: filterType, disabled: true, typedConfig: typed('envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth', apiKeyConfig(first)) }];
  },
  perRoute(r) {
    const a = apiKeyOf(r);
    if (!a) return undefined;
    return { [filterType]: typed('envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuthPerRoute', apiKeyConfig(a)) };
  },
};
