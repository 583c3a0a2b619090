// BackendTrafficPolicy: how the proxy talks to the backends of its targets. A policy targets
// route rules, routes, ListenerSet listeners, ListenerSets, Gateway listeners or Gateways; the
// most specific one configures a route (a route's policy may instead merge onto its parent's,
// with spec.mergeType). Policies are taken in that order, and two for one target conflict.
import type { AnyObject } from '../resources/resources.js';
import { buildTrafficFeatures, routeStatName } from './backendtrafficfeatures.js';
import { GatewayGroup, withFreshStatus, type GatewayContext, type ListenerContext, type RouteContext } from './contexts.js';
import { mergeSpecs, type MergeType } from './policymerge.js';
import {
  gatewayListenerScope, gatewayScope, listenerSetListenerScope, listenerSetScope, routeScope, ScopeGraph, type ScopeKey,
} from './policyscopes.js';
import { groupOf, isListenerSetKind, policyTargets, type PolicyTarget, type TargetCandidate } from './policytargets.js';
import { setAncestorCondition, setPolicyAccepted, setPolicyRejected, truncateAncestors, type AncestorRef } from './policystatus.js';
import type { Translation } from './translation.js';

const Kind = 'BackendTrafficPolicy';
const routeKinds = new Set(['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute']);

interface RouteTarget {
  rc: RouteContext;
  attached: boolean;
  rules: Set<string>;
}

interface ListenerSetTarget {
  ls: AnyObject;
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

export function processBackendTrafficPolicies(t: Translation, routes: readonly RouteContext[]): AnyObject[] {
  const policies = t.resources.backendTrafficPolicies;
  if (policies.length === 0) return [];
  const s = new State(t, routes);
  const out: AnyObject[] = [];
  // Policies are known by namespace/name: a second one of the same name acts as the first.
  const copies = new Map<string, AnyObject>();
  const copyOf = (p: AnyObject): AnyObject => {
    const key = `${p.metadata?.namespace ?? ''}/${p.metadata?.name}`;
    let c = copies.get(key);
    if (!c) {
      c = withFreshStatus(p, { ...(p.status ?? {}), ancestors: [] });
      copies.set(key, c);
      out.push(c);
    }
    return c;
  };
  const targets = policies.map((p) => policyTargets(t, p, Kind, s.candidates));
  s.buildParentPolicyMaps(policies, targets);
  // Policies for a known ListenerSet are listed first (Envoy Gateway collects them up front),
  // those for one of its listeners before those for a whole one.
  for (const section of [true, false]) {
    policies.forEach((p, i) => {
      if (targets[i]!.some((tg) => isListenerSetKind(tg.kind) && (tg.sectionName !== undefined) === section && s.hasListenerSet(tg))) copyOf(p);
    });
  }

  const phase = (accept: (tg: PolicyTarget) => boolean, run: (policy: AnyObject, tg: PolicyTarget) => void) => {
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

class State {
  readonly candidates: TargetCandidate[] = [];
  private readonly routes = new Map<string, RouteTarget>();
  private readonly gateways = new Map<string, GatewayTarget>();
  private readonly listenerSets = new Map<string, ListenerSetTarget>();
  /** The first policy for each Gateway (or Gateway listener), for routes that merge onto it. */
  private readonly gatewayPolicies = new Map<string, AnyObject>();
  private readonly listenerSetPolicies = new Map<string, AnyObject>();
  private readonly overrides = new ScopeGraph();
  private readonly merged = new ScopeGraph();

  constructor(
    readonly t: Translation,
    routes: readonly RouteContext[],
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
      const parent = ls.spec?.parentRef ?? {};
      const gw = this.gateways.get(key2(parent.namespace || ls.metadata.namespace, parent.name))?.g;
      this.listenerSets.set(key2(ls.metadata.namespace ?? "", ls.metadata.name), { ls, gateway: gw, attached: false, listeners: new Set() });
      this.candidates.push({ group: groupOf(ls), kind: ls.kind ?? 'ListenerSet', object: ls });
    }
  }

  hasListenerSet(tg: PolicyTarget): boolean {
    return this.listenerSets.has(key2(tg.namespace, tg.name));
  }

  buildParentPolicyMaps(policies: readonly AnyObject[], targets: readonly PolicyTarget[][]): void {
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
          if (tg.sectionName !== undefined && !(ls.ls.spec?.listeners ?? []).some((l: any) => l.name === tg.sectionName)) continue;
          const k = `${key}/${tg.sectionName ?? ''}`;
          if (!this.listenerSetPolicies.has(k)) this.listenerSetPolicies.set(k, p);
        }
      }
    });
  }

  // ---- routes ---------------------------------------------------------------------------------

  forRoute(policy: AnyObject, tg: PolicyTarget): void {
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
    const mergeType: MergeType | undefined = policy.spec?.mergeType ?? undefined;
    if (!mergeType) {
      const errs = this.applyToRoute(policy, policy.spec ?? {}, rc, tg);
      if (errs.length) for (const a of ancestors) setPolicyRejected(t, policy, a, 'Invalid', errs.join('\n'));
    } else {
      for (const pc of rc.parents) {
        for (const l of pc.listeners) {
          const { parent, scope, ancestor } = this.parentPolicyOf(l);
          if (!parent) {
            const errs = this.applyToRoute(policy, policy.spec ?? {}, rc, tg, l);
            if (errs.length) setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Invalid', errs.join('\n'));
            continue;
          }
          const spec = mergeSpecs(parent.spec ?? {}, policy.spec ?? {}, mergeType);
          const errs = this.applyToRoute(policy, spec, rc, tg, l, parent);
          if (errs.length) {
            setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Invalid', errs.join('\n'));
            continue;
          }
          this.merged.add(scope!, self);
          setAncestorCondition(t, policy, ancestor, 'Merged', 'True', 'Merged', `Merged with policy ${parent.metadata.namespace}/${parent.metadata.name}`);
        }
      }
    }
    for (const a of ancestors) setPolicyAccepted(t, policy, a, deprecations(policy));
    if (tg.sectionName === undefined && target.rules.size) {
      const msg = `This policy is being overridden by other backendTrafficPolicy for ${rc.kind} rules: [${[...target.rules].join(' ')}]`;
      for (const a of ancestors) setAncestorCondition(t, policy, a, 'Overridden', 'True', 'Overridden', msg);
    }
  }

  private claimRoute(target: RouteTarget, tg: PolicyTarget): { reason: string; message: string } | undefined {
    const rc = target.rc;
    if (tg.sectionName !== undefined) {
      if (!(rc.spec.rules ?? []).some((r: any) => r.name === tg.sectionName)) {
        return { reason: 'TargetNotFound', message: `No section name ${tg.sectionName} found for ${rc.kind} ${rc.namespace}/${rc.name}` };
      }
      if (target.rules.has(tg.sectionName)) {
        return { reason: 'Conflicted', message: `Unable to target RouteRule ${tg.name}/${tg.sectionName}, another BackendTrafficPolicy has already attached to it` };
      }
      target.rules.add(tg.sectionName);
      return undefined;
    }
    if (target.attached) return { reason: 'Conflicted', message: `Unable to target ${tg.kind} ${tg.name}, another BackendTrafficPolicy has already attached to it` };
    target.attached = true;
    return undefined;
  }

  /** The closest policy a route's policy merges onto for one listener, and where it sits. */
  private parentPolicyOf(l: ListenerContext): { parent?: AnyObject; scope?: ScopeKey; ancestor: AncestorRef } {
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

  /**
   * Applies a policy (or a merged spec) to the IR routes of a route, all of them or those of one
   * listener, leaving alone what a more specific policy already set.
   */
  private applyToRoute(policy: AnyObject, spec: any, rc: RouteContext, tg: PolicyTarget, l?: ListenerContext, parent?: AnyObject): string[] {
    const t = this.t;
    const roOwner = parent && !(policy.spec?.responseOverride?.length) ? parent.metadata.namespace : undefined;
    const { features, errors } = buildTrafficFeatures(t, policy, spec, roOwner);
    if (parent) mergeRateLimits(t, policy, parent, features);
    const statTemplate: string | undefined = spec.telemetry?.metrics?.routeStatName;
    const prefix = rc.irPrefix;
    const listenerName = l?.irName;
    const sectionOk = (md: any) => tg.sectionName === undefined || md?.sectionName === tg.sectionName;
    const irs = l ? [t.xdsIR[t.irKey(l.gateway)]].filter(Boolean) : Object.values(t.xdsIR);
    for (const x of irs as any[]) {
      for (const tcp of x.tcp ?? []) {
        if (listenerName && tcp.name !== listenerName) continue;
        for (const r of tcp.routes ?? []) {
          if (!sectionOk(r.destination?.metadata) || !r.destination?.name?.startsWith(prefix)) continue;
          applyToL4Route(r, features, true, routeStatName(statTemplate, r.metadata));
          addPolicyMetadata(r, policy);
        }
      }
      for (const udp of x.udp ?? []) {
        if (listenerName && udp.name !== listenerName) continue;
        const r = udp.route;
        if (!r || !sectionOk(r.destination?.metadata) || !r.destination?.name?.startsWith(prefix)) continue;
        setIfUnset(r, 'loadBalancer', features.loadBalancer);
        setIfUnset(r, 'dns', features.dns);
      }
      for (const http of x.http ?? []) {
        if (listenerName && http.name !== listenerName) continue;
        for (const r of http.routes ?? []) {
          if (!sectionOk(r.metadata) || !r.name.startsWith(prefix)) continue;
          if (r.traffic || r.useClientProtocol !== undefined) continue;
          applyToHTTPRoute(r, policy, spec, features, errors, routeStatName(statTemplate, r.metadata));
        }
      }
    }
    return errors;
  }

  // ---- ListenerSets and Gateways --------------------------------------------------------------

  forListenerSet(policy: AnyObject, tg: PolicyTarget): void {
    const t = this.t;
    const target = this.listenerSets.get(key2(tg.namespace, tg.name));
    if (!target?.gateway) return;
    const g = target.gateway;
    const ls = target.ls;
    const ancestor = ancestorRef(tg.group, tg.kind, tg.namespace, tg.name, tg.sectionName);
    const conflict = claim(target, tg, (ls.spec?.listeners ?? []).some((l: any) => l.name === tg.sectionName), `ListenerSet ${tg.namespace}/${tg.name}`);
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
    const errs = this.applyToListeners(policy, g, listeners);
    if (errs.length) setPolicyRejected(t, policy, ancestor, 'Invalid', errs.join('\n'));
    setPolicyAccepted(t, policy, ancestor, deprecations(policy));
    this.reportChildren(policy, ancestor, own);
  }

  forGateway(policy: AnyObject, tg: PolicyTarget): void {
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
    const errs = this.applyToListeners(policy, g, listeners);
    if (errs.length) setPolicyRejected(t, policy, ancestor, 'Invalid', errs.join('\n'));
    setPolicyAccepted(t, policy, ancestor, deprecations(policy));
    this.reportChildren(policy, ancestor, own);
  }

  /** Merged / Overridden on a parent-scope policy, from the routes and scopes under it. */
  private reportChildren(policy: AnyObject, ancestor: AncestorRef, own: ScopeKey): void {
    const merged = this.merged.directChildren(own);
    const overridden = [...this.overrides.descendants(own)].filter((s) => !merged.has(s));
    if (merged.size) setAncestorCondition(this.t, policy, ancestor, 'Merged', 'True', 'Merged', `This policy is being merged by other backendTrafficPolicies for ${describe([...merged])}`);
    if (overridden.length) setAncestorCondition(this.t, policy, ancestor, 'Overridden', 'True', 'Overridden', `This policy is being overridden by other backendTrafficPolicies for ${describe(overridden)}`);
  }

  private applyToListeners(policy: AnyObject, g: GatewayContext, listeners: readonly ListenerContext[]): string[] {
    const t = this.t;
    const spec = policy.spec ?? {};
    const { features, errors } = buildTrafficFeatures(t, policy, spec);
    const statTemplate: string | undefined = spec.telemetry?.metrics?.routeStatName;
    const x: any = t.xdsIR[t.irKey(g)];
    if (!x) return errors;
    const names = new Set(listeners.map((l) => l.irName));
    for (const tcp of x.tcp ?? []) {
      if (!names.has(tcp.name)) continue;
      for (const r of tcp.routes ?? []) {
        applyToL4Route(r, features, false, routeStatName(statTemplate, r.metadata));
        addPolicyMetadata(r, policy);
      }
    }
    for (const udp of x.udp ?? []) {
      if (!names.has(udp.name) || !udp.route) continue;
      setIfUnset(udp.route, 'loadBalancer', features.loadBalancer);
      setIfUnset(udp.route, 'dns', features.dns);
    }
    for (const http of x.http ?? []) {
      if (!names.has(http.name)) continue;
      for (const r of http.routes ?? []) {
        if (r.traffic || r.useClientProtocol !== undefined) continue;
        applyToHTTPRoute(r, policy, spec, features, errors, routeStatName(statTemplate, r.metadata));
      }
    }
    return errors;
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
      return { reason: 'Conflicted', message: `Unable to target Listener ${tg.namespace}/${tg.name}/${tg.sectionName}, another BackendTrafficPolicy has already attached to it` };
    }
    target.listeners.add(tg.sectionName);
    return undefined;
  }
  if (target.attached) return { reason: 'Conflicted', message: `Unable to target ${tg.kind} ${tg.name}, another BackendTrafficPolicy has already attached to it` };
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

function setIfUnset(r: Record<string, any>, field: string, v: unknown): void {
  if (v !== undefined && r[field] === undefined) r[field] = structuredClone(v);
}

function applyToL4Route(r: Record<string, any>, f: Record<string, any>, withConnection: boolean, statName: string | undefined): void {
  for (const k of ['loadBalancer', 'proxyProtocol', 'healthCheck', 'circuitBreaker', 'tcpKeepalive', 'timeout', 'dns']) setIfUnset(r, k, f[k]);
  if (withConnection) setIfUnset(r, 'backendConnection', f.backendConnection);
  setIfUnset(r, 'statName', statName);
}

function applyToHTTPRoute(r: Record<string, any>, policy: AnyObject, spec: any, f: Record<string, any>, errors: readonly string[], statName: string | undefined): void {
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
function addPolicyMetadata(r: Record<string, any>, policy: AnyObject): void {
  if (!r.metadata) return;
  const entry = { kind: Kind, name: policy.metadata.name, namespace: policy.metadata.namespace };
  r.metadata = { ...r.metadata, policies: [...(r.metadata.policies ?? []), entry] };
}

/**
 * Rate limit rules are named after the policy that gave them, so merged specs cannot simply be
 * rebuilt: the rules of both policies are built apart and merged as the merge type says.
 */
function mergeRateLimits(t: Translation, policy: AnyObject, parent: AnyObject, features: Record<string, any>): void {
  const own = policy.spec?.rateLimit;
  const theirs = parent.spec?.rateLimit;
  if (!theirs) return;
  const parentRL = buildTrafficFeatures(t, parent, { rateLimit: theirs }).features.rateLimit;
  if (!own) {
    if (parentRL) features.rateLimit = parentRL;
    return;
  }
  const ownRL = buildTrafficFeatures(t, policy, { rateLimit: own }).features.rateLimit;
  if (parentRL && ownRL) features.rateLimit = mergeSpecs(parentRL, ownRL, policy.spec.mergeType);
}

function deprecations(policy: AnyObject): string[] {
  const spec = policy.spec ?? {};
  const out: string[] = [];
  if (spec.compression?.length) out.push('spec.compression is deprecated, use spec.compressor instead');
  if (spec.targetRef) out.push('spec.targetRef is deprecated, use spec.targetRefs instead');
  return out;
}
