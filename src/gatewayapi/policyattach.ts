// Where an Envoy Gateway policy (BackendTrafficPolicy, SecurityPolicy, EnvoyExtensionPolicy)
// applies: route rules, routes, ListenerSet listeners, ListenerSets, Gateway listeners and
// Gateways, taken in that order so that the most specific policy configures a route first. Two
// policies for one target conflict (the older wins); a route's policy may merge onto the policy of
// its listener's scope (spec.mergeType). A handler per kind does the translation itself.
import type { ListenerSet } from '../api/gatewayapi/index.js';
import { GatewayGroup, withFreshStatus, type GatewayContext, type ListenerContext, type RouteContext, type WithStatus } from './contexts.js';
import { mergeSpecs, type MergeType } from './policymerge.js';
import {
  gatewayListenerScope, gatewayScope, listenerSetListenerScope, listenerSetScope, routeScope, ScopeGraph, type ScopeKey,
} from './policyscopes.js';
import { groupOf, isListenerSetKind, policyTargets, type PolicyTarget, type TargetCandidate, type TargetingPolicy } from './policytargets.js';
import { setAncestorCondition, setPolicyAccepted, setPolicyRejected, truncateAncestors, type AncestorRef, type StatusPolicy } from './policystatus.js';
import type { Translation } from './translation.js';

/** A policy kind that attaches to routes and Gateways, and may merge onto its parent's policy. */
export interface AttachedPolicy extends TargetingPolicy, StatusPolicy {
  spec: NonNullable<TargetingPolicy['spec']> & { mergeType?: MergeType };
}

/** The spec of a policy kind. */
export type SpecOf<P extends AttachedPolicy> = P['spec'];

/** What a policy kind does once its targets are resolved. */
export interface PolicyHandler<P extends AttachedPolicy> {
  kind: string;
  /** The plural the Overridden/Merged messages use, e.g. "backendTrafficPolicies". */
  plural: string;
  /**
   * Applies a policy's spec (possibly merged onto `parent`'s) to the IR of a route: every proxy,
   * or one listener's. Returns the problems found.
   */
  applyToRoute(policy: WithStatus<P>, spec: SpecOf<P>, rc: RouteContext, tg: PolicyTarget, l?: ListenerContext, parent?: P): string[];
  /** Applies a policy for a Gateway or ListenerSet (tg) to the routes of some of its listeners. */
  applyToListeners(policy: WithStatus<P>, g: GatewayContext, listeners: readonly ListenerContext[], tg: PolicyTarget): string[];
  /** Why the policy cannot apply to a route at all (checked before anything is applied). */
  validateForRoute?(policy: WithStatus<P>, spec: SpecOf<P>, tg: PolicyTarget): string | undefined;
  /** The merged spec of a route policy onto its parent's (default: per spec.mergeType). */
  merge?(parent: P, policy: WithStatus<P>, type: MergeType): SpecOf<P>;
  deprecations(policy: WithStatus<P>): string[];
}

const routeKinds = new Set(['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute']);

interface RouteTarget {
  rc: RouteContext;
  attached: boolean;
  rules: Set<string>;
}

interface ListenerSetTarget {
  ls: WithStatus<ListenerSet>;
  gateway?: GatewayContext;
  attached: boolean;
  listeners: Set<string>;
}

interface GatewayTarget {
  g: GatewayContext;
  attached: boolean;
  listeners: Set<string>;
}

const key2 = (ns: string, name: string) => `${ns}/${name}`;

/** Processes the policies of one kind; returns their output copies with statuses. */
export function processPolicies<P extends AttachedPolicy>(t: Translation, policies: readonly P[], routes: readonly RouteContext[], h: PolicyHandler<P>): WithStatus<P>[] {
  if (policies.length === 0) return [];
  const s = new State(t, routes, h);
  const out: WithStatus<P>[] = [];
  // Policies are known by namespace/name: a second one of the same name acts as the first.
  const copies = new Map<string, WithStatus<P>>();
  const copyOf = (p: P): WithStatus<P> => {
    const key = `${p.metadata?.namespace ?? ''}/${p.metadata?.name}`;
    let c = copies.get(key);
    if (!c) {
      c = withFreshStatus<P>(p, { ...p.status, ancestors: [] });
      copies.set(key, c);
      out.push(c);
    }
    return c;
  };
  const targets = policies.map((p) => policyTargets(t, p, h.kind, s.candidates));
  s.buildParentPolicyMaps(policies, targets);
  // Policies for a known ListenerSet are listed first (Envoy Gateway collects them up front),
  // those for one of its listeners before those for a whole one.
  for (const section of [true, false]) {
    policies.forEach((p, i) => {
      if (targets[i]!.some((tg) => isListenerSetKind(tg.kind) && (tg.sectionName !== undefined) === section && s.hasListenerSet(tg))) copyOf(p);
    });
  }

  const phase = (accept: (tg: PolicyTarget) => boolean, run: (policy: WithStatus<P>, tg: PolicyTarget) => void) => {
    policies.forEach((input, i) => {
      for (const tg of targets[i]!) if (accept(tg)) run(copyOf(input), tg);
    });
  };
  const isRoute = (tg: PolicyTarget) => routeKinds.has(tg.kind);
  phase((tg) => isRoute(tg) && tg.sectionName !== undefined, (p, tg) => s.forRoute(p, tg));
  phase((tg) => isRoute(tg) && tg.sectionName === undefined, (p, tg) => s.forRoute(p, tg));
  phase((tg) => isListenerSetKind(tg.kind) && tg.sectionName !== undefined, (p, tg) => s.forListenerSet(p, tg));
  phase((tg) => isListenerSetKind(tg.kind) && tg.sectionName === undefined, (p, tg) => s.forListenerSet(p, tg));
  phase((tg) => tg.kind === 'Gateway' && tg.sectionName !== undefined, (p, tg) => s.forGateway(p, tg));
  phase((tg) => tg.kind === 'Gateway' && tg.sectionName === undefined, (p, tg) => s.forGateway(p, tg));

  for (const p of out) truncateAncestors(t, p);
  return out;
}

class State<P extends AttachedPolicy> {
  readonly candidates: TargetCandidate[] = [];
  private readonly routes = new Map<string, RouteTarget>();
  private readonly gateways = new Map<string, GatewayTarget>();
  private readonly listenerSets = new Map<string, ListenerSetTarget>();
  /** The first policy for each Gateway (or Gateway listener), for routes that merge onto it. */
  private readonly gatewayPolicies = new Map<string, P>();
  private readonly listenerSetPolicies = new Map<string, P>();
  private readonly overrides = new ScopeGraph();
  private readonly merged = new ScopeGraph();

  constructor(
    readonly t: Translation,
    routes: readonly RouteContext[],
    private readonly h: PolicyHandler<P>,
  ) {
    for (const rc of routes) {
      this.routes.set(`${rc.kind}/${rc.namespace}/${rc.name}`, { rc, attached: false, rules: new Set() });
      this.candidates.push({ group: GatewayGroup, kind: rc.kind, object: rc.route });
    }
    for (const g of t.accepted) {
      this.gateways.set(key2(g.namespace, g.name), { g, attached: false, listeners: new Set() });
      this.candidates.push({ group: GatewayGroup, kind: 'Gateway', object: g.gateway });
    }
    for (const ls of t.listenerSets) {
      const parent: Partial<ListenerSet['spec']['parentRef']> = ls.spec?.parentRef ?? {};
      const gw = this.gateways.get(key2(parent.namespace || ls.metadata.namespace || '', parent.name ?? ''))?.g;
      this.listenerSets.set(key2(ls.metadata.namespace ?? "", ls.metadata.name), { ls, gateway: gw, attached: false, listeners: new Set() });
      this.candidates.push({ group: groupOf(ls), kind: ls.kind ?? 'ListenerSet', object: ls });
    }
  }

  hasListenerSet(tg: PolicyTarget): boolean {
    return this.listenerSets.has(key2(tg.namespace, tg.name));
  }

  buildParentPolicyMaps(policies: readonly P[], targets: readonly PolicyTarget[][]): void {
    policies.forEach((p, i) => {
      for (const tg of targets[i]!) {
        const key = key2(tg.namespace, tg.name);
        if (tg.kind === 'Gateway') {
          const g = this.gateways.get(key);
          if (!g) continue;
          if (tg.sectionName !== undefined && !g.g.listeners.some((l) => !l.listenerSet && l.name === tg.sectionName)) continue;
          const k = `${key}/${tg.sectionName ?? ''}`;
          if (!this.gatewayPolicies.has(k)) this.gatewayPolicies.set(k, p);
        } else if (isListenerSetKind(tg.kind)) {
          const ls = this.listenerSets.get(key);
          if (!ls) continue;
          if (tg.sectionName !== undefined && !(ls.ls.spec?.listeners ?? []).some((l) => l.name === tg.sectionName)) continue;
          const k = `${key}/${tg.sectionName ?? ''}`;
          if (!this.listenerSetPolicies.has(k)) this.listenerSetPolicies.set(k, p);
        }
      }
    });
  }

  // ---- routes ---------------------------------------------------------------------------------

  forRoute(policy: WithStatus<P>, tg: PolicyTarget): void {
    const t = this.t;
    const target = this.routes.get(`${tg.kind}/${tg.namespace}/${tg.name}`);
    if (!target) return;
    const rc = target.rc;
    const self = routeScope(rc.kind, rc.namespace, rc.name);
    const ancestors: AncestorRef[] = [];
    for (const pc of rc.parents) {
      const ref = pc.ref;
      const ns: string = ref.namespace || rc.namespace;
      const section: string | undefined = ref.sectionName ?? undefined;
      if (!ref.kind || ref.kind === 'Gateway') {
        this.overrides.add(section !== undefined ? gatewayListenerScope(ns, ref.name, section) : gatewayScope(ns, ref.name), self);
        ancestors.push(ancestorRef(GatewayGroup, 'Gateway', ns, ref.name, section));
      } else if (isListenerSetKind(ref.kind)) {
        const ls = this.listenerSets.get(key2(ns, ref.name));
        if (!ls) continue;
        if (ls.gateway) this.overrides.registerListenerSet(ns, ref.name, ls.gateway.namespace, ls.gateway.name);
        this.overrides.add(section !== undefined ? listenerSetListenerScope(ns, ref.name, section) : listenerSetScope(ns, ref.name), self);
        ancestors.push(ancestorRef(GatewayGroup, ref.kind, ns, ref.name, section));
      }
    }
    const conflict = this.claimRoute(target, tg);
    if (conflict) {
      for (const a of ancestors) setPolicyRejected(t, policy, a, conflict.reason, conflict.message);
      return;
    }
    const invalid = this.h.validateForRoute?.(policy, policy.spec, tg);
    if (invalid) {
      for (const a of ancestors) setPolicyRejected(t, policy, a, 'Invalid', invalid);
      return;
    }
    const mergeType: MergeType | undefined = policy.spec?.mergeType ?? undefined;
    if (!mergeType) {
      const errs = this.h.applyToRoute(policy, policy.spec, rc, tg);
      if (errs.length) for (const a of ancestors) setPolicyRejected(t, policy, a, 'Invalid', errs.join('\n'));
    } else {
      for (const pc of rc.parents) {
        for (const l of pc.listeners) {
          const { parent, scope, ancestor } = this.parentPolicyOf(l);
          if (!parent) {
            const errs = this.h.applyToRoute(policy, policy.spec, rc, tg, l);
            if (errs.length) setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Invalid', errs.join('\n'));
            continue;
          }
          const spec = this.h.merge ? this.h.merge(parent, policy, mergeType) : mergeSpecs(parent.spec, policy.spec, mergeType);
          const invalidMerged = this.h.validateForRoute?.(policy, spec, tg);
          const errs = invalidMerged ? [invalidMerged] : this.h.applyToRoute(policy, spec, rc, tg, l, parent);
          if (errs.length) {
            setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Invalid', errs.join('\n'));
            continue;
          }
          this.merged.add(scope!, self);
          setAncestorCondition(t, policy, ancestor, 'Merged', 'True', 'Merged', `Merged with policy ${parent.metadata.namespace}/${parent.metadata.name}`);
        }
      }
    }
    for (const a of ancestors) setPolicyAccepted(t, policy, a, this.h.deprecations(policy));
    if (tg.sectionName === undefined && target.rules.size) {
      const msg = `This policy is being overridden by other ${this.h.plural} for ${rc.kind} rules: [${[...target.rules].join(' ')}]`;
      for (const a of ancestors) setAncestorCondition(t, policy, a, 'Overridden', 'True', 'Overridden', msg);
    }
  }

  private claimRoute(target: RouteTarget, tg: PolicyTarget): { reason: string; message: string } | undefined {
    const rc = target.rc;
    if (tg.sectionName !== undefined) {
      const rules: { name?: string }[] = rc.spec.rules ?? [];
      if (!rules.some((r) => r.name === tg.sectionName)) {
        return { reason: 'TargetNotFound', message: `No section name ${tg.sectionName} found for ${rc.kind} ${rc.namespace}/${rc.name}` };
      }
      if (target.rules.has(tg.sectionName)) {
        return { reason: 'Conflicted', message: `Unable to target RouteRule ${tg.name}/${tg.sectionName}, another ${this.h.kind} has already attached to it` };
      }
      target.rules.add(tg.sectionName);
      return undefined;
    }
    if (target.attached) return { reason: 'Conflicted', message: `Unable to target ${tg.kind} ${tg.name}, another ${this.h.kind} has already attached to it` };
    target.attached = true;
    return undefined;
  }

  /** The closest policy a route's policy merges onto for one listener, and where it sits. */
  private parentPolicyOf(l: ListenerContext): { parent?: P; scope?: ScopeKey; ancestor: AncestorRef } {
    const g = l.gateway;
    if (l.listenerSet) {
      const ls = l.listenerSet.metadata as { namespace: string; name: string };
      const ancestor = ancestorRef(GatewayGroup, l.listenerSet.kind ?? 'ListenerSet', ls.namespace, ls.name, l.name);
      const byListener = this.listenerSetPolicies.get(`${ls.namespace}/${ls.name}/${l.name}`);
      if (byListener) return { parent: byListener, scope: listenerSetListenerScope(ls.namespace, ls.name, l.name), ancestor };
      const bySet = this.listenerSetPolicies.get(`${ls.namespace}/${ls.name}/`);
      if (bySet) return { parent: bySet, scope: listenerSetScope(ls.namespace, ls.name), ancestor };
      const byGateway = this.gatewayPolicies.get(`${g.namespace}/${g.name}/`);
      if (byGateway) return { parent: byGateway, scope: gatewayScope(g.namespace, g.name), ancestor };
      return { ancestor };
    }
    const ancestor = ancestorRef(GatewayGroup, 'Gateway', g.namespace, g.name, l.name);
    const byListener = this.gatewayPolicies.get(`${g.namespace}/${g.name}/${l.name}`);
    if (byListener) return { parent: byListener, scope: gatewayListenerScope(g.namespace, g.name, l.name), ancestor };
    const byGateway = this.gatewayPolicies.get(`${g.namespace}/${g.name}/`);
    if (byGateway) return { parent: byGateway, scope: gatewayScope(g.namespace, g.name), ancestor };
    return { ancestor };
  }

  // ---- ListenerSets and Gateways --------------------------------------------------------------

  forListenerSet(policy: WithStatus<P>, tg: PolicyTarget): void {
    const t = this.t;
    const target = this.listenerSets.get(key2(tg.namespace, tg.name));
    if (!target?.gateway) return;
    const g = target.gateway;
    const ls = target.ls;
    const ancestor = ancestorRef(tg.group, tg.kind, tg.namespace, tg.name, tg.sectionName);
    const conflict = claim(target, tg, (ls.spec?.listeners ?? []).some((l) => l.name === tg.sectionName), `ListenerSet ${tg.namespace}/${tg.name}`);
    if (conflict) {
      setPolicyRejected(t, policy, ancestor, conflict.reason, conflict.message);
      return;
    }
    let own: ScopeKey;
    if (tg.sectionName !== undefined) {
      this.overrides.registerListenerSet(tg.namespace, tg.name, g.namespace, g.name);
      this.overrides.add(listenerSetScope(tg.namespace, tg.name), (own = listenerSetListenerScope(tg.namespace, tg.name, tg.sectionName)));
    } else {
      this.overrides.add(gatewayScope(g.namespace, g.name), (own = listenerSetScope(tg.namespace, tg.name)));
    }
    const listeners = g.listeners.filter((l) => l.listenerSet === ls && (tg.sectionName === undefined || l.name === tg.sectionName));
    const errs = this.h.applyToListeners(policy, g, listeners, tg);
    if (errs.length) setPolicyRejected(t, policy, ancestor, 'Invalid', errs.join('\n'));
    setPolicyAccepted(t, policy, ancestor, this.h.deprecations(policy));
    this.reportChildren(policy, ancestor, own);
  }

  forGateway(policy: WithStatus<P>, tg: PolicyTarget): void {
    const t = this.t;
    const target = this.gateways.get(key2(tg.namespace, tg.name));
    if (!target) return;
    const g = target.g;
    const ancestor = ancestorRef(GatewayGroup, 'Gateway', tg.namespace, tg.name, tg.sectionName);
    const conflict = claim(target, tg, g.listeners.some((l) => !l.listenerSet && l.name === tg.sectionName), `Gateway ${tg.namespace}/${tg.name}`);
    if (conflict) {
      setPolicyRejected(t, policy, ancestor, conflict.reason, conflict.message);
      return;
    }
    const own = tg.sectionName !== undefined ? gatewayListenerScope(tg.namespace, tg.name, tg.sectionName) : gatewayScope(tg.namespace, tg.name);
    if (tg.sectionName !== undefined) this.overrides.add(gatewayScope(tg.namespace, tg.name), own);
    const listeners = g.listeners.filter((l) => tg.sectionName === undefined || (!l.listenerSet && l.name === tg.sectionName));
    const errs = this.h.applyToListeners(policy, g, listeners, tg);
    if (errs.length) setPolicyRejected(t, policy, ancestor, 'Invalid', errs.join('\n'));
    setPolicyAccepted(t, policy, ancestor, this.h.deprecations(policy));
    this.reportChildren(policy, ancestor, own);
  }

  /** Merged / Overridden on a parent-scope policy, from the routes and scopes under it. */
  private reportChildren(policy: WithStatus<P>, ancestor: AncestorRef, own: ScopeKey): void {
    const merged = this.merged.directChildren(own);
    const overridden = [...this.overrides.descendants(own)].filter((s) => !merged.has(s));
    if (merged.size) setAncestorCondition(this.t, policy, ancestor, 'Merged', 'True', 'Merged', `This policy is being merged by other ${this.h.plural} for ${describe([...merged])}`);
    if (overridden.length) setAncestorCondition(this.t, policy, ancestor, 'Overridden', 'True', 'Overridden', `This policy is being overridden by other ${this.h.plural} for ${describe(overridden)}`);
  }

}

function claim(
  target: { attached: boolean; listeners: Set<string> },
  tg: PolicyTarget,
  sectionExists: boolean,
  what: string,
): { reason: string; message: string } | undefined {
  if (tg.sectionName !== undefined) {
    if (!sectionExists) return { reason: 'TargetNotFound', message: `No section name ${tg.sectionName} found for ${what}` };
    if (target.listeners.has(tg.sectionName)) {
      return { reason: 'Conflicted', message: `Unable to target Listener ${tg.namespace}/${tg.name}/${tg.sectionName}, another policy has already attached to it` };
    }
    target.listeners.add(tg.sectionName);
    return undefined;
  }
  if (target.attached) return { reason: 'Conflicted', message: `Unable to target ${tg.kind} ${tg.name}, another policy has already attached to it` };
  target.attached = true;
  return undefined;
}

function describe(scopes: string[]): string {
  return `these scopes: [${scopes.sort().join(', ')}]`;
}

function ancestorRef(group: string, kind: string, namespace: string, name: string, sectionName?: string): AncestorRef {
  const a: AncestorRef = { group, kind, namespace, name };
  if (sectionName !== undefined) a.sectionName = sectionName;
  return a;
}

