// ClientTrafficPolicy: settings for how listeners treat clients. A policy targets a Gateway or a
// ListenerSet, whole or one listener (sectionName). The most specific policy wins a listener:
// first those naming a listener, then those for a whole ListenerSet, last those for a whole
// Gateway, which configure what is left. Two policies for the same scope conflict: the older wins.
import type { ClientTrafficPolicy } from '../api/envoygateway/index.js';
import type { ListenerSet } from '../api/gatewayapi/index.js';
import type { Xds } from '../ir/xds.js';
import { applyClientTrafficPolicy } from './clienttrafficsettings.js';
import { GatewayGroup, withFreshStatus, type GatewayContext, type ListenerContext, type WithStatus } from './contexts.js';
import { policyTargets, groupOf, isListenerSetKind, type PolicyTarget, type TargetCandidate } from './policytargets.js';
import { setAncestorCondition, setPolicyAccepted, setPolicyRejected, truncateAncestors, type AncestorRef } from './policystatus.js';
import type { Translation } from './translation.js';

/** Marks a scope whose whole set of listeners is taken (no listener is named "/"). */
const AllSections = '/';

/** A Gateway or a ListenerSet a policy applies to, with the listeners it owns. */
interface Scope {
  key: string;
  gateway: GatewayContext;
  listeners: ListenerContext[];
  ancestor: (sectionName?: string) => AncestorRef;
  what: string;
}

type Policy = WithStatus<ClientTrafficPolicy>;

export function processClientTrafficPolicies(t: Translation): Policy[] {
  const policies = t.resources.clientTrafficPolicies;
  if (policies.length === 0) return [];

  const gateways = new Map<string, GatewayContext>();
  const candidates: TargetCandidate[] = [];
  for (const g of t.accepted) {
    gateways.set(`${g.namespace}/${g.name}`, g);
    candidates.push({ group: GatewayGroup, kind: 'Gateway', object: g.gateway });
  }
  const listenerSets = new Map<string, { ls: ListenerSet; gateway: GatewayContext }>();
  for (const ls of t.listenerSets) {
    candidates.push({ group: groupOf(ls), kind: ls.kind ?? 'ListenerSet', object: ls });
    const g = t.listenerSetParents.get(ls);
    if (g) listenerSets.set(`${ls.metadata.namespace}/${ls.metadata.name}`, { ls, gateway: g });
  }

  const scopeOf = (tg: PolicyTarget): Scope | undefined => {
    const key = `${tg.namespace}/${tg.name}`;
    if (tg.kind === 'Gateway') {
      const g = gateways.get(key);
      if (!g) return undefined;
      return {
        key: `Gateway/${key}`,
        gateway: g,
        listeners: g.listeners,
        ancestor: (sectionName) => ancestorRef(GatewayGroup, 'Gateway', tg.namespace, tg.name, sectionName),
        what: `Gateway ${key}`,
      };
    }
    if (isListenerSetKind(tg.kind)) {
      const found = listenerSets.get(key);
      if (!found) return undefined;
      return {
        key: `ListenerSet/${key}`,
        gateway: found.gateway,
        listeners: found.gateway.listeners.filter((l) => l.listenerSet === found.ls),
        ancestor: (sectionName) => ancestorRef(tg.group, tg.kind, tg.namespace, tg.name, sectionName),
        what: `ListenerSet ${key}`,
      };
    }
    return undefined;
  };

  const out: Policy[] = [];
  // Policies are known by namespace/name: a second one of the same name acts as the first.
  const copies = new Map<string, Policy>();
  const copyOf = (p: ClientTrafficPolicy): Policy => {
    const key = `${p.metadata?.namespace ?? ''}/${p.metadata?.name}`;
    let c = copies.get(key);
    if (!c) {
      c = withFreshStatus(p, { ...p.status, ancestors: [] });
      copies.set(key, c);
      out.push(c);
    }
    return c;
  };
  const targets = policies.map((p) => policyTargets(t, p, 'ClientTrafficPolicy', candidates));
  /** The sections of each scope already taken, AllSections for a whole one. */
  const taken = new Map<string, Set<string>>();
  /** Listeners configured by a more specific policy. */
  const covered = new Set<ListenerContext>();

  const phase = (accept: (tg: PolicyTarget) => boolean, run: (policy: Policy, tg: PolicyTarget, scope: Scope) => void) => {
    policies.forEach((input, i) => {
      for (const tg of targets[i]!) {
        if (!accept(tg)) continue;
        const policy = copyOf(input);
        const scope = scopeOf(tg);
        if (scope) run(policy, tg, scope);
      }
    });
  };

  // 1. One listener of a Gateway or a ListenerSet.
  phase(
    (tg) => tg.sectionName !== undefined,
    (policy, tg, scope) => {
      const ancestor = scope.ancestor(tg.sectionName);
      const l = scope.listeners.find((x) => x.name === tg.sectionName && (scope.key.startsWith('ListenerSet/') || !x.listenerSet));
      if (!l) {
        setPolicyRejected(t, policy, ancestor, 'TargetNotFound', `No section name ${tg.sectionName} found for ${scope.what}`);
        return;
      }
      const sections = taken.get(scope.key) ?? new Set<string>();
      if (sections.has(tg.sectionName!)) {
        setPolicyRejected(t, policy, ancestor, 'Conflicted', `Unable to target section of ${tg.name}, another ClientTrafficPolicy has already attached to it`);
        return;
      }
      sections.add(tg.sectionName!);
      taken.set(scope.key, sections);
      covered.add(l);
      const errs = applyToListener(t, policy, l, 'section');
      finish(t, policy, ancestor, errs);
    },
  );

  // 2. A whole ListenerSet, then 3. a whole Gateway: the listeners not configured yet.
  const whole = (kindMatches: (tg: PolicyTarget) => boolean) =>
    phase(
      (tg) => tg.sectionName === undefined && kindMatches(tg),
      (policy, tg, scope) => {
        const ancestor = scope.ancestor();
        const sections = taken.get(scope.key) ?? new Set<string>();
        if (sections.has(AllSections)) {
          setPolicyRejected(t, policy, ancestor, 'Conflicted', `Unable to target ${scope.what.split(' ')[0]} ${tg.name}, another ClientTrafficPolicy has already attached to it`);
          return;
        }
        const overridden = scope.listeners.filter((l) => covered.has(l)).map((l) => l.name);
        if (overridden.length) {
          const names = [...new Set(overridden)].sort();
          setAncestorCondition(t, policy, ancestor, 'Overridden', 'True', 'Overridden', `There are existing ClientTrafficPolicies that are overriding these sections [${names.join(' ')}]`);
        }
        sections.add(AllSections);
        taken.set(scope.key, sections);
        const errs: string[] = [];
        for (const l of scope.listeners) {
          if (covered.has(l)) continue;
          errs.push(...applyToListener(t, policy, l, scope.key.startsWith('Gateway/') ? 'gateway' : 'listenerSet'));
        }
        for (const l of scope.listeners) covered.add(l);
        finish(t, policy, ancestor, errs);
      },
    );
  whole((tg) => isListenerSetKind(tg.kind));
  whole((tg) => tg.kind === 'Gateway');

  for (const p of out) truncateAncestors(t, p);
  return out;
}

function ancestorRef(group: string, kind: string, namespace: string, name: string, sectionName?: string): AncestorRef {
  const a: AncestorRef = { group, kind, namespace, name };
  if (sectionName !== undefined) a.sectionName = sectionName;
  return a;
}

function finish(t: Translation, policy: Policy, ancestor: AncestorRef, errs: readonly string[]): void {
  if (errs.length) setPolicyRejected(t, policy, ancestor, 'Invalid', errs.join('\n'));
  setPolicyAccepted(t, policy, ancestor, deprecations(policy));
}

/** Checks the listener can be configured alone, then configures it. */
function applyToListener(t: Translation, policy: Policy, l: ListenerContext, attachedTo: 'section' | 'listenerSet' | 'gateway'): string[] {
  const xds = t.xdsIR[t.irKey(l.gateway)];
  if (!xds) return [];
  const overlap = portOverlap(l, xds, attachedTo);
  if (overlap) return [overlap];
  return applyClientTrafficPolicy(t, policy, l, xds);
}

/**
 * Plain HTTP listeners on one port share one set of client settings in Envoy. A policy may not
 * configure one of them apart from the others — unless it configures all of them, as a policy
 * for their whole Gateway (or ListenerSet) does.
 */
function portOverlap(l: ListenerContext, xds: Xds, attachedTo: 'section' | 'listenerSet' | 'gateway'): string | undefined {
  const http = xds.http ?? [];
  const self = http.find((h) => h.name === l.irName);
  if (!self || self.tls) return undefined;
  const same = http.filter((h) => h !== self && h.port === self.port && !h.tls).map((h) => h.name);
  if (same.length === 0) return undefined;
  let conflicting = same;
  if (attachedTo !== 'section') {
    const owner = l.irName.slice(0, l.irName.lastIndexOf('/') + 1);
    conflicting = same.filter((name) => !ownedBy(name, owner, attachedTo));
  }
  if (conflicting.length === 0) return undefined;
  return `ClientTrafficPolicy is being applied to multiple http (non https) listeners (${conflicting.join(', ')}) on the same port, which is not allowed`;
}

/** Whether an IR listener belongs to the scope whose listeners are named `<owner><listener>`. */
function ownedBy(irName: string, owner: string, attachedTo: 'listenerSet' | 'gateway'): boolean {
  if (!irName.startsWith(owner)) return false;
  // A Gateway's own listeners are `<ns>/<gw>/<listener>`; its ListenerSets' have two more parts.
  const rest = irName.slice(owner.length);
  return attachedTo === 'gateway' || !rest.includes('/');
}

/** Deprecated fields the policy uses, each with its replacement. */
function deprecations(policy: ClientTrafficPolicy): string[] {
  const spec: Partial<ClientTrafficPolicy['spec']> = policy.spec ?? {};
  const out: string[] = [];
  if (spec.enableProxyProtocol !== undefined && spec.enableProxyProtocol !== null) out.push('spec.enableProxyProtocol is deprecated, use spec.proxyProtocol instead');
  if (spec.headers?.preserveXRequestID !== undefined && spec.headers?.preserveXRequestID !== null) out.push('spec.headers.preserveXRequestID is deprecated, use spec.headers.requestID instead');
  if (spec.targetRef) out.push('spec.targetRef is deprecated, use spec.targetRefs instead');
  if (spec.tls?.clientValidation?.optional) out.push('spec.tls.clientValidation.optional is deprecated, use spec.tls.clientValidation.mode instead');
  return out;
}
