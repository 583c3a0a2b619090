// JWT authentication (SecurityPolicy jwt): one jwt_authn filter per listener holding every
// provider its routes use and one requirement per distinct combination; each route names its
// requirement. Providers and requirements are named after their content (name_<digest>), so
// identical providers on several routes are one entry and changes rename them.
import type { HTTPListener, HTTPRoute, JWT, JWTProvider } from '../../../ir/xds.js';
import type { Context } from '../context.js';
import { endpointTypeOf } from '../cluster.js';
import { messageDigest } from '../digest.js';
import { buildRetryPolicy } from '../route-policy.js';
import { addURLCluster, urlCluster } from '../urlcluster.js';
import { protoDuration, typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.jwt_authn';
const providerType = 'envoy.extensions.filters.http.jwt_authn.v3.JwtProvider';
const requirementType = 'envoy.extensions.filters.http.jwt_authn.v3.JwtRequirement';
const defaultFetchTimeout = '10s';

function jwtOf(r: HTTPRoute): JWT | undefined {
  const j = r.security?.jwt;
  return j?.providers?.length ? j : undefined;
}

/** The JwtProvider message of an IR provider. */
function buildProvider(p: JWTProvider): Msg {
  const out: Msg = {};
  if (p.issuer) out.issuer = p.issuer;
  if (p.audiences?.length) out.audiences = [...p.audiences];
  if (p.remoteJWKS) {
    const r = p.remoteJWKS;
    const dest = r.destination;
    const timeout = dest ? protoDuration(r.traffic?.timeout?.http?.requestTimeout) ?? defaultFetchTimeout : defaultFetchTimeout;
    const remote: Msg = { httpUri: { uri: r.uri, cluster: dest?.name ?? urlCluster(r.uri).name, timeout } };
    if (r.cacheDuration) remote.cacheDuration = protoDuration(r.cacheDuration);
    // Keys are fetched in the background, so the first requests need not wait for them.
    const fetch: Msg = {};
    if (r.failedRefetchDuration) fetch.failedRefetchDuration = protoDuration(r.failedRefetchDuration);
    remote.asyncFetch = fetch;
    const retry = r.traffic?.retry ? buildRetryPolicy(r.traffic.retry) : undefined;
    if (retry) {
      const rp: Msg = {};
      if (retry.numRetries !== undefined) rp.numRetries = retry.numRetries;
      if (retry.retryBackOff) rp.retryBackOff = retry.retryBackOff;
      if (retry.retryOn) rp.retryOn = retry.retryOn;
      remote.retryPolicy = rp;
    }
    out.remoteJwks = remote;
  } else if (p.localJWKS !== undefined) {
    out.localJwks = { inlineString: p.localJWKS };
  }
  out.forward = true;
  const ex = p.extractFrom;
  if (ex?.headers?.length) out.fromHeaders = ex.headers.map((h) => (h.valuePrefix ? { name: h.name, valuePrefix: h.valuePrefix } : { name: h.name }));
  if (ex?.params?.length) out.fromParams = [...ex.params];
  if (ex?.cookies?.length) out.fromCookies = [...ex.cookies];
  // The verified payload, for authorization rules on claims and scopes.
  out.payloadInMetadata = p.name;
  out.normalizePayloadInMetadata = { spaceDelimitedClaims: ['scope', 'scp'] };
  if (p.claimToHeaders?.length) out.claimToHeaders = p.claimToHeaders.map((c) => ({ headerName: c.header, claimName: c.claim }));
  if (p.recomputeRoute) out.clearRouteCache = true;
  return out;
}

interface RouteJWT {
  providers: { key: string; provider: Msg }[];
  requirementName: string;
  requirement: Msg;
}

/** Digests are costly: each route's JWT settings are built once (for the filter and the route). */
const built = new WeakMap<JWT, RouteJWT>();

function routeJWT(j: JWT): RouteJWT {
  let rj = built.get(j);
  if (!rj) built.set(j, (rj = buildRouteJWT(j)));
  return rj;
}

/** A route's providers (named by content) and its requirement: any of them, or none when allowed. */
function buildRouteJWT(j: JWT): RouteJWT {
  const providers = j.providers.map((p) => {
    const provider = buildProvider(p);
    return { key: `${p.name}_${messageDigest(providerType, provider)}`, provider };
  });
  const names = j.providers.map((p) => p.name);
  let requirement: Msg;
  if (providers.length === 1 && !j.allowMissing && !j.allowMissingOrFailed) {
    requirement = { providerName: providers[0]!.key };
  } else {
    const any: Msg[] = providers.map((p) => ({ providerName: p.key }));
    if (j.allowMissingOrFailed) {
      any.push({ allowMissingOrFailed: {} });
      names.push('missing-or-failed');
    } else if (j.allowMissing) {
      any.push({ allowMissing: {} });
      names.push('missing');
    }
    requirement = { requiresAny: { requirements: any } };
  }
  return { providers, requirement, requirementName: `${names.join('-or-')}_${messageDigest(requirementType, requirement)}` };
}

export const jwt: HTTPFeature = {
  filters(l) {
    const providers: Msg = {};
    const requirementMap: Msg = {};
    let any = false;
    for (const r of l.routes ?? []) {
      const j = jwtOf(r);
      if (!j) continue;
      any = true;
      const rj = routeJWT(j);
      // Copies: the cached messages must not be shared by resources that patches may edit.
      for (const p of rj.providers) providers[p.key] ??= JSON.parse(JSON.stringify(p.provider));
      requirementMap[rj.requirementName] ??= JSON.parse(JSON.stringify(rj.requirement));
    }
    if (!any) return [];
    return [{ name: filterType, typedConfig: typed('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', { providers, requirementMap }) }];
  },
  mergeFilter(into, from) {
    if (into.name !== filterType || from.name !== filterType) return;
    const a = into.typedConfig;
    const b = from.typedConfig;
    for (const [k, v] of Object.entries(b.providers ?? {})) a.providers[k] ??= v;
    for (const [k, v] of Object.entries(b.requirementMap ?? {})) a.requirementMap[k] ??= v;
  },
  perRoute(r) {
    const j = jwtOf(r);
    if (!j) return undefined;
    return { [filterType]: typed('envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig', { requirementName: routeJWT(j).requirementName }) };
  },
  resources(l: HTTPListener, ctx: Context) {
    for (const r of l.routes ?? []) {
      for (const p of jwtOf(r)?.providers ?? []) {
        const rj = p.remoteJWKS;
        if (!rj) continue;
        const dest = rj.destination;
        if (dest?.settings?.length) {
          ctx.addCluster({
            name: dest.name,
            settings: dest.settings,
            endpointType: endpointTypeOf(dest.settings),
            traffic: rj.traffic,
            metadata: dest.metadata,
            hashPolicyInCluster: true,
          });
          continue;
        }
        addURLCluster(ctx, urlCluster(rj.uri));
      }
    }
  },
};
