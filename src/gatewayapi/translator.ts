// The Gateway API translator: Resources → statuses + infra IR + xDS IR. A pure function: the
// input bundle is not modified; every object that gets a status is returned as a copy with it.
import type { EnvoyProxy } from '../api/envoygateway/index.js';
import type { GatewayClass } from '../api/gatewayapi/index.js';
import type { ResourceList, Resources, ResourceTypes } from '../resources/resources.js';
import type { Route, RouteContext } from './contexts.js';
import { processBackends } from './backends.js';
import { processBackendTrafficPolicies } from './backendtrafficpolicy.js';
import { RoutingTypeIndex } from './btpindex.js';
import { processClientTrafficPolicies } from './clienttrafficpolicy.js';
import { prepareBackendTLSPolicies, processBackendTLSPolicyStatus } from './backendtls.js';
import { processGateways, initIRs, processAddresses } from './gateways.js';
import { processEnvoyExtensionPolicies } from './envoyextensionpolicy.js';
import { processEnvoyPatchPolicies } from './envoypatchpolicy.js';
import { processGatewayTLS } from './gatewaytls.js';
import { processGlobalResources } from './globalresources.js';
import { processHTTPRoutes } from './httproute.js';
import { processL4Routes } from './l4routes.js';
import { processListenerSets, processListenerSetStatus } from './listenersets.js';
import { processListeners } from './listeners.js';
import { processSecurityPolicies } from './securitypolicy.js';
import { mergeBackendClusters } from './mergebackends.js';
import type { TranslatorSettings } from './settings.js';
import { sortXdsIR } from './sort.js';
import type { Infra } from '../ir/infra.js';
import type { Xds } from '../ir/xds.js';
import { Translation } from './translation.js';

/** The objects of a bundle that have a status, each a copy with it. */
export type TranslatedResources = { [K in ResourceList]?: ResourceTypes[K][] } & {
  gatewayClass?: GatewayClass;
  envoyProxyForGatewayClass?: EnvoyProxy;
};

export interface TranslateResult {
  /** The input resources that have a status, each with it (keys as in the Resources bundle). */
  resources: TranslatedResources;
  /** One xDS IR per proxy, keyed `<namespace>/<gateway>` (or the GatewayClass, when merged). */
  xdsIR: Record<string, Xds>;
  infraIR: Record<string, Infra>;
}

export function translate(resources: Resources, settings: TranslatorSettings): TranslateResult {
  const t = new Translation(resources, settings);

  processGateways(t);
  initIRs(t);
  processListenerSets(t);
  processGatewayTLS(t);
  processListeners(t);
  processListenerSetStatus(t);
  const envoyPatchPolicies = processEnvoyPatchPolicies(t);
  processAddresses(t);
  const backends = processBackends(t);
  prepareBackendTLSPolicies(t);
  t.routingTypes = new RoutingTypeIndex(t);

  const httpRoutes = processHTTPRoutes(t, 'HTTPRoute', resources.httpRoutes);
  const grpcRoutes = processHTTPRoutes(t, 'GRPCRoute', resources.grpcRoutes);
  const tlsRoutes = processL4Routes(t, 'TLSRoute', resources.tlsRoutes);
  const tcpRoutes = processL4Routes(t, 'TCPRoute', resources.tcpRoutes);
  const udpRoutes = processL4Routes(t, 'UDPRoute', resources.udpRoutes);
  const clientTrafficPolicies = processClientTrafficPolicies(t);
  const allRoutes = [...httpRoutes, ...grpcRoutes, ...tlsRoutes, ...tcpRoutes, ...udpRoutes];
  const backendTrafficPolicies = processBackendTrafficPolicies(t, allRoutes);
  const securityPolicies = processSecurityPolicies(t, allRoutes);
  const envoyExtensionPolicies = processEnvoyExtensionPolicies(t, allRoutes);

  processGlobalResources(t);
  processBackendTLSPolicyStatus(t);
  mergeBackendClusters(t);
  sortXdsIR(t.xdsIR);
  for (const g of t.accepted) {
    const order = g.envoyProxy?.spec?.filterOrder;
    if (order) t.xdsIR[t.irKey(g)]!.filterOrder = order;
  }

  const out: TranslatedResources = {};
  if (t.gatewayClass) {
    out.gatewayClass = t.gatewayClass;
    if (t.gatewayClassProxy) out.envoyProxyForGatewayClass = t.gatewayClassProxy;
  }
  const gateways = [...t.accepted, ...t.failed].map((g) => g.gateway);
  if (gateways.length) out.gateways = gateways;
  if (t.gatewayProxies.length) out.envoyProxiesForGateways = t.gatewayProxies;
  const routes = <R extends Route>(list: RouteContext<R>[]) => list.map((rc) => rc.route);
  if (httpRoutes.length) out.httpRoutes = routes(httpRoutes);
  if (grpcRoutes.length) out.grpcRoutes = routes(grpcRoutes);
  if (tlsRoutes.length) out.tlsRoutes = routes(tlsRoutes);
  if (tcpRoutes.length) out.tcpRoutes = routes(tcpRoutes);
  if (udpRoutes.length) out.udpRoutes = routes(udpRoutes);
  if (backends.length) out.backends = backends;
  if (t.backendTLSPolicies.length) out.backendTLSPolicies = t.backendTLSPolicies;
  if (t.listenerSets.length) out.listenerSets = t.listenerSets;
  if (envoyPatchPolicies.length) out.envoyPatchPolicies = envoyPatchPolicies;
  if (clientTrafficPolicies.length) out.clientTrafficPolicies = clientTrafficPolicies;
  if (backendTrafficPolicies.length) out.backendTrafficPolicies = backendTrafficPolicies;
  if (securityPolicies.length) out.securityPolicies = securityPolicies;
  if (envoyExtensionPolicies.length) out.envoyExtensionPolicies = envoyExtensionPolicies;
  return { resources: out, xdsIR: t.xdsIR, infraIR: t.infraIR };
}
