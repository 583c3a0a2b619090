// The HTTP filter chain of a listener's connection manager: each feature contributes its filter
// (once per listener, enabled per route where it needs to be), sorted into Envoy Gateway's order,
// then the EnvoyProxy's filterOrder overrides, and the router last.
import type { FilterPosition, HTTPListener } from '../../ir/xds.js';
import { typed, type Msg } from './util.js';

/** A filter with its position in Envoy Gateway's default order. */
export interface OrderedFilter {
  filter: Msg;
  order: number;
}

/** Envoy Gateway's default order: the lower, the earlier. Filters with an index suffix keep IR order. */
const orderByName: [string, number][] = [
  ['envoy.filters.http.health_check', 0],
  ['envoy.filters.http.geoip', 0.5],
  ['envoy.filters.http.fault', 1],
  ['envoy.filters.http.custom_response', 2],
  ['envoy.filters.http.cors', 3],
  ['envoy.filters.http.header_mutation', 4],
  ['envoy.filters.http.ext_authz', 5],
  ['envoy.filters.http.api_key_auth', 100],
  ['envoy.filters.http.basic_auth', 101],
  ['envoy.filters.http.oauth2', 102],
  ['envoy.filters.http.jwt_authn', 103],
  ['envoy.filters.http.stateful_session', 104],
  ['envoy.filters.http.buffer', 105],
  ['envoy.filters.http.lua', 200],
  ['envoy.filters.http.ext_proc', 300],
  ['envoy.filters.http.wasm', 400],
  ['envoy.filters.http.dynamic_modules', 450],
  ['envoy.filters.http.rbac', 501],
  ['envoy.filters.http.csrf', 501.5],
  ['envoy.filters.http.local_ratelimit', 502],
  ['envoy.filters.http.ratelimit', 503],
  ['envoy.filters.http.bandwidth_limit', 503.5],
  ['envoy.filters.http.grpc_web', 504],
  ['envoy.filters.http.grpc_stats', 505],
  ['envoy.filters.http.credential_injector', 506],
  ['envoy.filters.http.compressor', 507],
  ['envoy.filters.http.router', 1000],
];

/** The default position of a filter, by the name it is registered under. */
export function defaultOrder(name: string): number {
  for (const [prefix, order] of orderByName) if (name === prefix || name.startsWith(`${prefix}/`) || name.startsWith(`${prefix}.`)) return order;
  return 50;
}

/** Sorts filters by default order (stable), then applies the EnvoyProxy filterOrder overrides. */
export function orderFilters(filters: Msg[], overrides: FilterPosition[] | undefined): Msg[] {
  const sorted = filters
    .map((filter, i) => ({ filter, order: defaultOrder(filter.name), i }))
    // Same kind of filter: by name (policy instances are named after their policy).
    .sort((a, b) => a.order - b.order || (a.filter.name < b.filter.name ? -1 : a.filter.name > b.filter.name ? 1 : a.i - b.i))
    .map((f) => f.filter);
  if (!overrides?.length) return sorted;
  let list = sorted;
  for (const o of overrides) {
    const moving = list.filter((f) => matchesFilter(f.name, o.name));
    if (!moving.length) continue;
    const rest = list.filter((f) => !matchesFilter(f.name, o.name));
    let at = -1;
    if (o.before) {
      at = rest.findIndex((f) => matchesFilter(f.name, o.before!));
    } else if (o.after) {
      for (let i = rest.length - 1; i >= 0; i--) if (matchesFilter(rest[i]!.name, o.after!)) { at = i + 1; break; }
    }
    if (at < 0) continue;
    list = [...rest.slice(0, at), ...moving, ...rest.slice(at)];
  }
  return list;
}

function matchesFilter(name: string, type: string): boolean {
  return name === type || name.startsWith(`${type}/`);
}

export function routerFilter(l: HTTPListener): Msg {
  const cfg: Msg = {};
  if (!l.headers?.enableEnvoyHeaders) cfg.suppressEnvoyHeaders = true;
  return { name: 'envoy.filters.http.router', typedConfig: typed('envoy.extensions.filters.http.router.v3.Router', cfg) };
}

/** Filters that depend only on the listener's own settings (ClientTrafficPolicy). */
export function listenerFilters(l: HTTPListener): Msg[] {
  const out: Msg[] = [];
  if (l.healthCheck?.path) {
    out.push({
      name: 'envoy.filters.http.health_check',
      typedConfig: typed('envoy.extensions.filters.http.health_check.v3.HealthCheck', {
        passThroughMode: false,
        headers: [{ name: ':path', stringMatch: { exact: l.healthCheck.path } }],
      }),
    });
  }
  if (l.grpc?.enableGRPCWeb) {
    out.push({ name: 'envoy.filters.http.grpc_web', typedConfig: typed('envoy.extensions.filters.http.grpc_web.v3.GrpcWeb') });
  }
  if (l.grpc?.enableGRPCStats) {
    out.push({
      name: 'envoy.filters.http.grpc_stats',
      typedConfig: typed('envoy.extensions.filters.http.grpc_stats.v3.FilterConfig', {
        emitFilterState: true,
        statsForAllMethods: true,
      }),
    });
  }
  return out;
}
