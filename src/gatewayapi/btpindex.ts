// What BackendTrafficPolicies decide before routes are translated: the routing type (Service
// cluster IP or endpoints) of each route's backends. Looked up from the most specific scope:
// route rule, route, ListenerSet listener, ListenerSet, Gateway listener, Gateway.
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

export class RoutingTypeIndex {
  private readonly byScope = new Map<string, string>();

  constructor(t: Translation) {
    const policies = t.resources.backendTrafficPolicies.filter((p) => p.spec?.routingType);
    if (policies.length === 0) return;
    const candidates: TargetCandidate[] = [];
    for (const [kind, list] of routeLists) for (const r of t.resources[list]) candidates.push({ group: GatewayGroup, kind, object: r });
    for (const g of t.accepted) candidates.push({ group: GatewayGroup, kind: 'Gateway', object: g.gateway });
    for (const ls of t.resources.listenerSets) candidates.push({ group: groupOf(ls), kind: ls.kind ?? 'ListenerSet', object: ls });
    for (const p of policies) {
      for (const tg of policyTargets(t, p, 'BackendTrafficPolicy', candidates)) {
        const kind = isListenerSetKind(tg.kind) ? 'ListenerSet' : tg.kind;
        const key = `${kind}/${tg.namespace}/${tg.name}/${tg.sectionName ?? ''}`;
        if (!this.byScope.has(key)) this.byScope.set(key, p.spec.routingType!);
      }
    }
  }

  /** The routing type policies set for a route's backends through one parent, if any. */
  lookup(rc: RouteContext, pc: RouteParentContext, ruleName: string | undefined): string | undefined {
    if (this.byScope.size === 0) return undefined;
    const get = (kind: string, ns: string, name: string, section?: string) => this.byScope.get(`${kind}/${ns}/${name}/${section ?? ''}`);
    if (ruleName) {
      const v = get(rc.kind, rc.namespace, rc.name, ruleName);
      if (v) return v;
    }
    const v = get(rc.kind, rc.namespace, rc.name);
    if (v) return v;
    const ref = pc.ref;
    const ns: string = ref.namespace || rc.namespace;
    const section: string | undefined = ref.sectionName ?? undefined;
    if (isListenerSetKind(ref.kind)) {
      if (section) {
        const s = get('ListenerSet', ns, ref.name, section);
        if (s) return s;
      }
      const s = get('ListenerSet', ns, ref.name);
      if (s) return s;
      const g = pc.gateway;
      return g ? get('Gateway', g.namespace, g.name) : undefined;
    }
    if (section) {
      const s = get('Gateway', ns, ref.name, section);
      if (s) return s;
    }
    return get('Gateway', ns, ref.name);
  }
}
