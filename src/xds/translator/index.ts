// The xds translator: a pure function from one xDS IR to Envoy's resources (listeners, route
// configurations, clusters, cluster load assignments, secrets) in the proto3 JSON mapping, in
// Envoy Gateway's order and with its names, so that EnvoyPatchPolicies written for Envoy Gateway
// apply unchanged. Errors in one part (a route, a patch) are collected; the rest is still built.
import type { EnvoyPatchPolicy, Xds } from '../../ir/xds.js';
import { applyEnvoyPatchPolicies } from '../patch/index.js';
import { buildCluster, endpointTypeOf } from './cluster.js';
import { Context, type TranslatorOptions } from './context.js';
import { features } from './filters/index.js';
import { processHTTPListeners } from './http.js';
import { buildReadyListener } from './ready.js';
import type { XdsResources } from './resources.js';
import { sdsClusterName } from './tls.js';
import { processTCPListeners } from './tcp.js';
import { processUDPListeners } from './udp.js';
import type { Msg } from './util.js';

export type { TranslatorOptions } from './context.js';
export type { XdsResources } from './resources.js';

export interface Translation {
  resources: XdsResources;
  /** What could not be translated (the corresponding parts are left out). */
  errors: string[];
  /** The table, for later stages that look resources up by name. */
  context: Context;
  /** The EnvoyPatchPolicies of the IR with their status (Programmed, or why not). */
  envoyPatchPolicies?: EnvoyPatchPolicy[];
}

export function translateXds(ir: Xds, options: TranslatorOptions = {}): Translation {
  const ctx = new Context(options);
  ctx.healthCheckLog = ir.healthCheckLog;
  const t = ctx.table;
  // Each stage goes on after another one failed: what it could not build is left out.
  const stage = (f: () => void) => {
    try {
      f();
    } catch (err) {
      ctx.errors.push(err instanceof Error ? err.message : String(err));
    }
  };
  if (ir.readyListener) stage(() => t.add('listeners', buildReadyListener(ir.readyListener!)));
  stage(() => processHTTPListeners(ctx, ir));
  stage(() => processTCPListeners(ctx, ir));
  stage(() => processUDPListeners(ctx, ir));
  let patchPolicies: EnvoyPatchPolicy[] | undefined;
  if (ir.envoyPatchPolicies?.length) {
    stage(() => {
      patchPolicies = applyEnvoyPatchPolicies(t, ir.envoyPatchPolicies!);
      // Patched resources are checked again, as Envoy will check them.
      for (const kind of Object.keys(t.out) as (keyof XdsResources)[]) for (const r of t.out[kind]) t.check(kind, r);
    });
  }
  for (const bc of ir.backendClusters ?? []) {
    ctx.addCluster({
      name: bc.name,
      settings: [bc.setting],
      endpointType: endpointTypeOf([bc.setting]),
      traffic: bc.traffic,
      useClientProtocol: bc.useClientProtocol,
      metadata: bc.metadata,
      perEndpointStats: ir.metrics?.enablePerEndpointStats,
    });
  }
  // Zone-aware routing compares upstream zones with the proxy's own: Envoy needs the proxy's
  // own Service as its local cluster.
  const local = ir.globalResources?.proxyServiceCluster;
  if (local?.settings?.length && t.out.clusters.some(usesZoneAwareRouting)) {
    const settings = local.settings.map((s) => ({ ...s, preferLocal: s.preferLocal ?? { minEndpointsThreshold: 1 } }));
    ctx.addCluster({ name: local.name, settings, endpointType: endpointTypeOf(settings), metadata: local.metadata, noHTTPOptions: true });
  }
  addAccessLogClusters(ctx, ir);
  stage(() => addTracingCluster(ctx, ir));
  for (const f of features) stage(() => f.sharedResources?.(ctx, ir));
  // Clusters for external SDS servers, in name order.
  for (const address of [...ctx.sdsServers].sort((a, b) => (sdsClusterName(a) < sdsClusterName(b) ? -1 : 1))) {
    const name = sdsClusterName(address);
    if (t.has('clusters', name)) continue;
    t.add('clusters', {
      name,
      connectTimeout: '10s',
      type: 'STATIC',
      http2ProtocolOptions: {},
      loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: [{ endpoint: { address: { pipe: { path: address } } } }] }] },
    });
  }
  return { resources: t.out, errors: [...ctx.errors, ...t.rejected], context: ctx, envoyPatchPolicies: patchPolicies };
}

/** Clusters of the gRPC access log and OpenTelemetry sinks. */
function addAccessLogClusters(ctx: Context, ir: Xds): void {
  const al = ir.accessLog;
  for (const s of [...(al?.als ?? []), ...(al?.openTelemetry ?? [])]) {
    const dest = s.destination;
    if (!dest?.settings?.length) continue;
    ctx.addCluster({
      name: dest.name,
      settings: dest.settings,
      endpointType: endpointTypeOf(dest.settings),
      traffic: s.traffic,
      metadata: dest.metadata,
      http2: s.traffic?.http2,
      perEndpointStats: ir.metrics?.enablePerEndpointStats,
    });
  }
}


function usesZoneAwareRouting(c: Msg): boolean {
  return !!c.loadBalancingPolicy?.policies?.some((p: Msg) => p.typedExtensionConfig?.typedConfig?.localityLbConfig?.zoneAwareLbConfig);
}

/** The cluster of the tracing collector. */
function addTracingCluster(ctx: Context, ir: Xds): void {
  const dest = ir.tracing?.destination;
  if (!dest?.settings?.length) return;
  ctx.addCluster({
    name: dest.name,
    settings: dest.settings,
    endpointType: endpointTypeOf(dest.settings),
    traffic: ir.tracing!.traffic,
    metadata: dest.metadata,
    http2: ir.tracing!.traffic?.http2,
    perEndpointStats: ir.metrics?.enablePerEndpointStats,
  });
}
