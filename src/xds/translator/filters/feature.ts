// An HTTP feature that policies turn on per route: it contributes filters to the connection
// manager of the listeners whose routes use it (disabled there, so that routes without it are
// not affected), enables them per route with typed_per_filter_config, and adds the resources its
// filters need (clusters, secrets).
import type { HTTPListener, HTTPRoute, Xds } from '../../../ir/xds.js';
import type { Context } from '../context.js';
import type { Msg } from '../util.js';

export interface HTTPFeature {
  /** The HTTP filters for a listener's connection manager. */
  filters(l: HTTPListener, ctx: Context, ir: Xds): Msg[];
  /**
   * Folds a filter of this feature from another IR listener into the same-named filter of a
   * connection manager they share (listeners on one port share the default filter chain).
   */
  mergeFilter?(into: Msg, from: Msg): void;
  /** Changes to the Envoy route itself (beyond typed_per_filter_config). */
  patchRoute?(route: Msg, r: HTTPRoute, l: HTTPListener): void;
  /** typed_per_filter_config entries for one route. */
  perRoute?(r: HTTPRoute, l: HTTPListener, ctx: Context): Record<string, Msg> | undefined;
  /** Clusters and secrets the filters refer to, added after the listener's routes. */
  resources?(l: HTTPListener, ctx: Context, ir: Xds): void;
  /** Resources shared by all listeners, added once at the end (after EnvoyPatchPolicies). */
  sharedResources?(ctx: Context, ir: Xds): void;
}

/** Per-route config that only turns a disabled filter on. */
export function enableFilter(): Msg {
  return { '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig', config: {} };
}

/** One HCM filter per distinct instance (by name, first occurrence wins), disabled by default. */
export function uniqueFilters(routes: HTTPRoute[] | undefined, build: (r: HTTPRoute) => Msg[] | undefined): Msg[] {
  const seen = new Map<string, Msg>();
  for (const r of routes ?? []) for (const f of build(r) ?? []) if (!seen.has(f.name)) seen.set(f.name, f);
  return [...seen.values()];
}
