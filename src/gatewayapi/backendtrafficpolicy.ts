// BackendTrafficPolicy: how the proxy talks to the backends of its targets (load balancing,
// retries, health checks, circuit breakers, timeouts, rate limits...). Where a policy applies is
// the shared policy attachment; here is what it does to the IR routes it reaches, leaving alone
// what a more specific policy already set.
import type { BackendTrafficPolicy, BackendTrafficPolicySpec } from '../api/envoygateway/index.js';
import type * as ir from '../ir/xds.js';
import { buildTrafficFeatures, routeStatName } from './backendtrafficfeatures.js';
import type { GatewayContext, ListenerContext, RouteContext, WithStatus } from './contexts.js';
import { processPolicies, type PolicyHandler } from './policyattach.js';
import { setsClusterSettings, sharedSettings, type ClusterProtocol } from './mergebackends.js';
import { mergeSpecs } from './policymerge.js';
import type { PolicyTarget } from './policytargets.js';
import type { Translation } from './translation.js';

const Kind = 'BackendTrafficPolicy';

type Policy = BackendTrafficPolicy;
type Spec = BackendTrafficPolicySpec;

export function processBackendTrafficPolicies(t: Translation, routes: readonly RouteContext[]): WithStatus<Policy>[] {
  return processPolicies(t, t.resources.backendTrafficPolicies, routes, new BackendTrafficHandler(t));
}

class BackendTrafficHandler implements PolicyHandler<Policy> {
  readonly kind = Kind;
  readonly plural = 'backendTrafficPolicies';

  constructor(private readonly t: Translation) {}

  deprecations(policy: Policy): string[] {
    const spec: Partial<Spec> = policy.spec ?? {};
    const out: string[] = [];
    if (spec.compression?.length) out.push('spec.compression is deprecated, use spec.compressor instead');
    if (spec.targetRef) out.push('spec.targetRef is deprecated, use spec.targetRefs instead');
    return out;
  }

  /**
   * Applies a policy (or a merged spec) to the IR routes of a route, all of them or those of one
   * listener, leaving alone what a more specific policy already set.
   */
  applyToRoute(policy: Policy, spec: Spec, rc: RouteContext, tg: PolicyTarget, l?: ListenerContext, parent?: Policy): string[] {
    const t = this.t;
    const roOwner = parent && !(policy.spec?.responseOverride?.length) ? parent.metadata.namespace : undefined;
    const { features, errors } = buildTrafficFeatures(t, policy, spec, roOwner);
    if (parent) mergeRateLimits(t, policy, parent, features);
    const statTemplate: string | undefined = spec.telemetry?.metrics?.routeStatName;
    const prefix = rc.irPrefix;
    const listenerName = l?.irName;
    const sectionOk = (md: ir.ResourceMetadata | undefined) => tg.sectionName === undefined || md?.sectionName === tg.sectionName;
    // A policy that replaces the Gateway's, or adds cluster settings to it, gives the route's
    // backends clusters of their own (mergeBackends shares the Gateway-wide ones only).
    const ownClusters = !policy.spec?.mergeType || setsClusterSettings(policy.spec);
    const sharing = t.clusterSharing;
    const irs = l ? [t.xdsIR[t.irKey(l.gateway)]] : Object.values(t.xdsIR);
    for (const x of irs) {
      if (!x) continue;
      for (const tcp of x.tcp ?? []) {
        if (listenerName && tcp.name !== listenerName) continue;
        for (const r of tcp.routes ?? []) {
          if (!sectionOk(r.destination?.metadata) || !r.destination?.name?.startsWith(prefix)) continue;
          applyToL4Route(r, features, true, routeStatName(statTemplate, r.metadata));
          addPolicyMetadata(r, policy);
          if (ownClusters) sharing.keepOwn(r);
        }
      }
      for (const udp of x.udp ?? []) {
        if (listenerName && udp.name !== listenerName) continue;
        const r = udp.route;
        if (!r || !sectionOk(r.destination?.metadata) || !r.destination?.name?.startsWith(prefix)) continue;
        setIfUnset(r, 'loadBalancer', features.loadBalancer);
        setIfUnset(r, 'dns', features.dns);
        if (ownClusters) sharing.keepOwn(r);
      }
      for (const http of x.http ?? []) {
        if (listenerName && http.name !== listenerName) continue;
        for (const r of http.routes ?? []) {
          if (!sectionOk(r.metadata) || !r.name.startsWith(prefix)) continue;
          if (r.traffic || r.useClientProtocol !== undefined) continue;
          applyToHTTPRoute(r, policy, spec, features, errors, routeStatName(statTemplate, r.metadata));
          if (ownClusters) sharing.keepOwn(r);
        }
      }
    }
    return errors;
  }


  applyToListeners(policy: Policy, g: GatewayContext, listeners: readonly ListenerContext[], tg: PolicyTarget): string[] {
    const t = this.t;
    const spec: Partial<Spec> = policy.spec ?? {};
    const { features, errors } = buildTrafficFeatures(t, policy, spec);
    const statTemplate: string | undefined = spec.telemetry?.metrics?.routeStatName;
    const x = t.xdsIR[t.irKey(g)];
    if (!x) return errors;
    const names = new Set(listeners.map((l) => l.irName));
    // Under mergeBackends, a whole Gateway's cluster settings go onto the clusters its routes
    // share; a listener's or ListenerSet's give their routes clusters of their own.
    const sharing = t.clusterSharing;
    const wholeGateway = tg.kind === 'Gateway' && tg.sectionName === undefined;
    const ownClusters = !wholeGateway && setsClusterSettings(spec);
    const share = (listener: string, protocol: ClusterProtocol) => {
      if (!wholeGateway) return;
      const ucp = spec.useClientProtocol ?? undefined;
      sharing.setGatewaySettings(listener, sharedSettings(errors.length ? {} : features, ucp, protocol));
    };
    for (const tcp of x.tcp ?? []) {
      if (!names.has(tcp.name)) continue;
      share(tcp.name, 'tcp');
      for (const r of tcp.routes ?? []) {
        applyToL4Route(r, features, false, routeStatName(statTemplate, r.metadata));
        addPolicyMetadata(r, policy);
        if (ownClusters) sharing.keepOwn(r);
      }
    }
    for (const udp of x.udp ?? []) {
      if (!names.has(udp.name) || !udp.route) continue;
      share(udp.name, 'udp');
      setIfUnset(udp.route, 'loadBalancer', features.loadBalancer);
      setIfUnset(udp.route, 'dns', features.dns);
      if (ownClusters) sharing.keepOwn(udp.route);
    }
    for (const http of x.http ?? []) {
      if (!names.has(http.name)) continue;
      share(http.name, 'http');
      for (const r of http.routes ?? []) {
        if (r.traffic || r.useClientProtocol !== undefined) continue;
        applyToHTTPRoute(r, policy, spec, features, errors, routeStatName(statTemplate, r.metadata));
        if (ownClusters) sharing.keepOwn(r);
      }
    }
    return errors;
  }
}

function setIfUnset<R extends object, K extends keyof R>(r: R, field: K, v: R[K] | undefined): void {
  if (v !== undefined && r[field] === undefined) r[field] = structuredClone(v);
}

function applyToL4Route(r: ir.TCPRoute, f: ir.TrafficFeatures, withConnection: boolean, statName: string | undefined): void {
  setIfUnset(r, 'loadBalancer', f.loadBalancer);
  setIfUnset(r, 'proxyProtocol', f.proxyProtocol);
  setIfUnset(r, 'healthCheck', f.healthCheck);
  setIfUnset(r, 'circuitBreaker', f.circuitBreaker);
  setIfUnset(r, 'tcpKeepalive', f.tcpKeepalive);
  setIfUnset(r, 'timeout', f.timeout);
  setIfUnset(r, 'dns', f.dns);
  if (withConnection) setIfUnset(r, 'backendConnection', f.backendConnection);
  setIfUnset(r, 'statName', statName);
}

function applyToHTTPRoute(r: ir.HTTPRoute, policy: Policy, spec: Partial<Spec>, f: ir.TrafficFeatures, errors: readonly string[], statName: string | undefined): void {
  if (statName !== undefined) r.statName = statName;
  if (errors.length) {
    r.directResponse = { statusCode: 500 };
    return;
  }
  r.traffic = structuredClone(f);
  const bu = r.traffic.loadBalancer?.backendUtilization;
  if (bu && !bu.keepResponseHeaders) {
    r.removeResponseHeaders ??= [];
    for (const h of ['endpoint-load-metrics', 'endpoint-load-metrics-bin']) if (!r.removeResponseHeaders.includes(h)) r.removeResponseHeaders.push(h);
  }
  if (spec.useClientProtocol !== undefined && spec.useClientProtocol !== null) r.useClientProtocol = spec.useClientProtocol;
  addPolicyMetadata(r, policy);
}

/** Records the policy in the route's metadata (a copy: the metadata object may be shared). */
function addPolicyMetadata(r: { metadata?: ir.ResourceMetadata }, policy: Policy): void {
  if (!r.metadata) return;
  const entry = { kind: Kind, name: policy.metadata.name, namespace: policy.metadata.namespace };
  r.metadata = { ...r.metadata, policies: [...(r.metadata.policies ?? []), entry] };
}

/**
 * Rate limit rules are named after the policy that gave them, so merged specs cannot simply be
 * rebuilt: the rules of both policies are built apart and merged as the merge type says.
 */
function mergeRateLimits(t: Translation, policy: Policy, parent: Policy, features: ir.TrafficFeatures): void {
  const own = policy.spec?.rateLimit;
  const theirs = parent.spec?.rateLimit;
  if (!theirs) return;
  const parentRL = buildTrafficFeatures(t, parent, { rateLimit: theirs }).features.rateLimit;
  if (!own) {
    if (parentRL) features.rateLimit = parentRL;
    return;
  }
  const ownRL = buildTrafficFeatures(t, policy, { rateLimit: own }).features.rateLimit;
  if (parentRL && ownRL) features.rateLimit = mergeSpecs(parentRL, ownRL, policy.spec.mergeType!);
}
