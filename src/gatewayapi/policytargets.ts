// What an Envoy Gateway policy targets: the objects named by targetRefs (or the deprecated
// targetRef), always in the policy's namespace, and the objects its targetSelectors pick by
// label — from other namespaces too when the selector says so and a ReferenceGrant allows it.
import type { TargetSelector } from '../api/envoygateway/index.js';
import type { LocalPolicyTargetReferenceWithSectionName } from '../api/gatewayapi/index.js';
import type { KubernetesObject } from '../api/meta.js';
import { EnvoyGatewayGroup, GatewayGroup } from './contexts.js';
import { referenceAllowed, selectorMatches } from './lookups.js';
import type { Translation } from './translation.js';


/** One resolved target of a policy. */
export interface PolicyTarget {
  group: string;
  kind: string;
  name: string;
  namespace: string;
  sectionName?: string;
}

/** An object a selector may pick, with the group and kind it is known by. */
export interface TargetCandidate {
  group: string;
  kind: string;
  object: KubernetesObject;
}

/** A policy's targeting fields, as every Envoy Gateway policy kind has them. */
export interface TargetingPolicy extends KubernetesObject {
  spec?: {
    targetRef?: LocalPolicyTargetReferenceWithSectionName;
    targetRefs?: LocalPolicyTargetReferenceWithSectionName[];
    targetSelectors?: TargetSelector[];
  };
}

/** The targets a policy names explicitly (targetRefs, else the deprecated targetRef). */
export function namedTargets(policy: TargetingPolicy): PolicyTarget[] {
  const spec = policy.spec ?? {};
  const refs = spec.targetRefs?.length ? spec.targetRefs : spec.targetRef ? [spec.targetRef] : [];
  const ns = policy.metadata?.namespace ?? '';
  return refs.map((r) => {
    const out: PolicyTarget = { group: r.group ?? GatewayGroup, kind: r.kind, name: r.name, namespace: ns };
    if (r.sectionName !== undefined && r.sectionName !== null && r.sectionName !== '') out.sectionName = String(r.sectionName);
    return out;
  });
}

/**
 * Every target of a policy: those its selectors pick among the candidates (in candidate order,
 * each once), then those it names.
 */
export function policyTargets(t: Translation, policy: TargetingPolicy, policyKind: string, candidates: readonly TargetCandidate[]): PolicyTarget[] {
  const selected: PolicyTarget[] = [];
  const seen = new Set<string>();
  const policyNs = policy.metadata?.namespace ?? '';
  for (const sel of policy.spec?.targetSelectors ?? []) {
    const group = sel.group ?? GatewayGroup;
    for (const c of candidates) {
      if (c.kind !== sel.kind || c.group !== group) continue;
      const ns = c.object.metadata?.namespace ?? '';
      if (!namespaceSelected(t, sel.namespaces, policyNs, ns)) continue;
      if (!selectorMatches(sel, c.object.metadata?.labels)) continue;
      const name = c.object.metadata.name;
      if (ns !== policyNs) {
        const from = { group: EnvoyGatewayGroup, kind: policyKind, namespace: policyNs };
        if (!referenceAllowed(t.lookups.referenceGrants, from, { group: c.group, kind: c.kind, namespace: ns, name })) continue;
      }
      const key = `${c.kind}/${ns}/${name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      selected.push({ group: c.group, kind: c.kind, name, namespace: ns });
    }
  }
  return [...selected, ...namedTargets(policy)];
}

function namespaceSelected(t: Translation, from: TargetSelector['namespaces'], policyNs: string, ns: string): boolean {
  switch (from?.from) {
    case 'All':
      return true;
    case 'Selector': {
      const n = t.lookups.namespace(ns);
      return !!from.selector && !!n && selectorMatches(from.selector, n.metadata?.labels);
    }
    default:
      return ns === policyNs;
  }
}

/** Whether a target names a ListenerSet (standard or experimental group). */
export function isListenerSetKind(kind: string | undefined): boolean {
  return kind === 'ListenerSet' || kind === 'XListenerSet';
}

/** The group a ListenerSet object is known by, from its apiVersion. */
export function groupOf(o: KubernetesObject): string {
  const av: string = o.apiVersion ?? '';
  const i = av.indexOf('/');
  return i < 0 ? '' : av.slice(0, i);
}
