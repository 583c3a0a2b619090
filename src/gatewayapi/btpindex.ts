// What BackendTrafficPolicies decide before routes are translated: the routing type (Service
// cluster IP or endpoints) of each route's backends. The policy in effect is the most specific one
// attached: route rule, route, then ListenerSet listener, ListenerSet, Gateway listener, Gateway.
// A route's policy replaces its listener's (routing type included) unless it sets a mergeType,
// in which case what it leaves unset comes from the closest listener-level policy.
import { GatewayGroup, type RouteContext, type RouteParentContext } from './contexts.js';
import { groupOf, isListenerSetKind, policyTargets, type TargetCandidate } from './policytargets.js';
import type { Translation } from './translation.js';

const routeLists = [
  ['HTTPRoute', 'httpRoutes'],
  ['GRPCRoute', 'grpcRoutes'],
  ['TLSRoute', 'tlsRoutes'],
  ['TCPRoute', 'tcpRoutes'],
  ['UDPRoute', 'udpRoutes'],
] as const;

/** What the policy attached to one scope says about routing. */
interface ScopePolicy {
  routingType?: string;
  /** The policy merges onto its listener's (spec.mergeType). */
  merges: boolean;
}

export class RoutingTypeIndex {
  /** The first policy of each scope (later ones for the same scope are conflicted). */
  private readonly byScope = new Map<string, ScopePolicy>();
  private readonly anyRoutingType: boolean;

  constructor(t: Translation) {
    const policies = t.resources.backendTrafficPolicies;
    this.anyRoutingType = policies.some((p) => p.spec?.routingType);
    if (!this.anyRoutingType) return;
    const candidates: TargetCandidate[] = [];
    for (const [kind, list] of routeLists) for (const r of t.resources[list]) candidates.push({ group: GatewayGroup, kind, object: r });
    for (const g of t.accepted) candidates.push({ group: GatewayGroup, kind: 'Gateway', object: g.gateway });
    for (const ls of t.resources.listenerSets) candidates.push({ group: groupOf(ls), kind: ls.kind ?? 'ListenerSet', object: ls });
    for (const p of policies) {
      const entry: ScopePolicy = { routingType: p.spec?.routingType ?? undefined, merges: !!p.spec?.mergeType };
      for (const tg of policyTargets(t, p, 'BackendTrafficPolicy', candidates)) {
        const kind = isListenerSetKind(tg.kind) ? 'ListenerSet' : tg.kind;
        const key = `${kind}/${tg.namespace}/${tg.name}/${tg.sectionName ?? ''}`;
        if (!this.byScope.has(key)) this.byScope.set(key, entry);
      }
    }
  }

  /** The routing type the policies in effect give a route's backends through one parent, if any. */
  lookup(rc: RouteContext, pc: RouteParentContext, ruleName: string | undefined): string | undefined {
    if (!this.anyRoutingType) return undefined;
    const get = (kind: string, ns: string, name: string, section?: string) => this.byScope.get(`${kind}/${ns}/${name}/${section ?? ''}`);
    const route = (ruleName ? get(rc.kind, rc.namespace, rc.name, ruleName) : undefined) ?? get(rc.kind, rc.namespace, rc.name);
    if (route && (route.routingType || !route.merges)) return route.routingType;
    return this.listenerPolicy(rc, pc, get)?.routingType;
  }

  /** The policy of the closest listener-level scope of a parent: its listener, then its whole set or Gateway. */
  private listenerPolicy(rc: RouteContext, pc: RouteParentContext, get: (kind: string, ns: string, name: string, section?: string) => ScopePolicy | undefined): ScopePolicy | undefined {
    const ref = pc.ref;
    const ns: string = ref.namespace || rc.namespace;
    const section: string | undefined = ref.sectionName ?? undefined;
    if (isListenerSetKind(ref.kind)) {
      const g = pc.gateway;
      return (section ? get('ListenerSet', ns, ref.name, section) : undefined) ?? get('ListenerSet', ns, ref.name) ?? (g ? get('Gateway', g.namespace, g.name) : undefined);
    }
    return (section ? get('Gateway', ns, ref.name, section) : undefined) ?? get('Gateway', ns, ref.name);
  }
}
