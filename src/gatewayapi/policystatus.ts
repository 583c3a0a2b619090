// Policy status (Gateway API PolicyStatus): one entry per ancestor the policy applies through,
// each with its conditions, written by this controller.
import type { PolicyAncestorStatus, PolicyStatus } from '../api/gatewayapi/index.js';
import type { Condition, KubernetesObject } from '../api/meta.js';
import { setCondition, type ConditionStatus } from './status.js';
import type { Translation } from './translation.js';

/** A policy as the translator hands it back: a copy with a PolicyStatus of its own. */
export type StatusPolicy = KubernetesObject & { status?: PolicyStatus };

/** One ancestor's entry, as written here (conditions always present). */
type AncestorStatus = PolicyAncestorStatus & { conditions: Condition[] };

export interface AncestorRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  sectionName?: string;
  port?: number;
}

export function sameAncestor(a: AncestorRef, b: AncestorRef, defaultNamespace = ''): boolean {
  return (
    (a.group ?? '') === (b.group ?? '') &&
    (a.kind ?? '') === (b.kind ?? '') &&
    a.name === b.name &&
    (a.namespace ?? defaultNamespace) === (b.namespace ?? defaultNamespace) &&
    (a.sectionName ?? '') === (b.sectionName ?? '') &&
    (a.port ?? 0) === (b.port ?? 0)
  );
}

/** Sets one condition on the status entry of one ancestor (created on first use). */
export function setAncestorCondition(t: Translation, policy: StatusPolicy, ancestorRef: AncestorRef, type: string, status: ConditionStatus, reason: string, message: string): void {
  policy.status ??= {};
  const ancestors = (policy.status.ancestors ??= []) as AncestorStatus[];
  let entry = ancestors.find((a) => sameAncestor(a.ancestorRef, ancestorRef));
  if (!entry) {
    entry = { ancestorRef, controllerName: t.settings.gatewayControllerName, conditions: [] };
    ancestors.push(entry);
  }
  setCondition(entry.conditions, type, status, reason, message);
  const generation = policy.metadata?.generation;
  if (generation !== undefined) entry.conditions.find((c) => c.type === type)!.observedGeneration = generation;
}

/** Accepted=False for a target that cannot be used (not found, conflicted, invalid). */
export function setPolicyRejected(t: Translation, policy: StatusPolicy, ancestor: AncestorRef, reason: string, message: string): void {
  setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', reason, message);
}

/** Accepted=True unless an earlier step already decided otherwise; deprecations as a Warning. */
export function setPolicyAccepted(t: Translation, policy: StatusPolicy, ancestor: AncestorRef, deprecations: readonly string[]): void {
  const entry = ancestorEntry(policy, ancestor);
  if (!entry?.conditions.some((c) => c.type === 'Accepted')) setAncestorCondition(t, policy, ancestor, 'Accepted', 'True', 'Accepted', 'Policy has been accepted.');
  if (deprecations.length) setAncestorCondition(t, policy, ancestor, 'Warning', 'True', 'DeprecatedField', deprecations.join('; '));
}

function ancestorEntry(policy: StatusPolicy, ancestor: AncestorRef): PolicyAncestorStatus | undefined {
  return (policy.status?.ancestors ?? []).find((a) => sameAncestor(a.ancestorRef, ancestor));
}

/**
 * A policy status holds at most 16 ancestors: the ones not accepted first, then the overridden,
 * then the rest (each by namespace and name); the last kept one says the list was cut.
 */
export function truncateAncestors(t: Translation, policy: StatusPolicy): void {
  const ancestors = policy.status?.ancestors;
  if (!ancestors || ancestors.length <= 16) return;
  const rank = (a: PolicyAncestorStatus) =>
    a.conditions.some((c) => c.type === 'Accepted' && c.status === 'False') ? 0 : a.conditions.some((c) => c.type === 'Overridden' && c.status === 'True') ? 1 : 2;
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  ancestors.sort((a, b) => rank(a) - rank(b) || cmp(a.ancestorRef.namespace ?? '', b.ancestorRef.namespace ?? '') || cmp(a.ancestorRef.name, b.ancestorRef.name));
  ancestors.length = 16;
  setAncestorCondition(t, policy, ancestors[15]!.ancestorRef, 'Aggregated', 'True', 'Aggregated', 'The ancestor list was cut to 16 entries.');
}
