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

/** A policy status lists at most this many ancestors (Gateway API PolicyStatus). */
export const maxAncestors = 16;

/** Policies whose ancestor list overflowed, so that the last kept entry says so. */
const overflowed = new WeakSet<StatusPolicy>();

/** Ancestors the user needs to see first: those not accepted, then the overridden, then by name. */
function byPriority(a: PolicyAncestorStatus, b: PolicyAncestorStatus): number {
  const rank = (x: PolicyAncestorStatus) =>
    x.conditions.some((c) => c.type === 'Accepted' && c.status === 'False') ? 0 : x.conditions.some((c) => c.type === 'Overridden' && c.status === 'True') ? 1 : 2;
  const cmp = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return (
    rank(a) - rank(b) ||
    cmp(a.ancestorRef.namespace ?? '', b.ancestorRef.namespace ?? '') ||
    cmp(a.ancestorRef.name, b.ancestorRef.name) ||
    cmp(a.ancestorRef.sectionName ?? '', b.ancestorRef.sectionName ?? '')
  );
}

/**
 * Sets one condition on the status entry of one ancestor (created on first use). A full list
 * takes a new ancestor only in place of one of lower priority: the new entry is added, the list
 * ordered by priority, and the last one dropped (possibly the new one, with its condition).
 */
export function setAncestorCondition(t: Translation, policy: StatusPolicy, ancestorRef: AncestorRef, type: string, status: ConditionStatus, reason: string, message: string): void {
  policy.status ??= {};
  const ancestors = (policy.status.ancestors ??= []) as AncestorStatus[];
  let entry = ancestors.find((a) => sameAncestor(a.ancestorRef, ancestorRef));
  const added = !entry;
  if (!entry) {
    entry = { ancestorRef, controllerName: t.settings.gatewayControllerName, conditions: [] };
    ancestors.push(entry);
  }
  setCondition(entry.conditions, type, status, reason, message);
  const generation = policy.metadata?.generation;
  if (generation !== undefined) entry.conditions.find((c) => c.type === type)!.observedGeneration = generation;
  if (added && ancestors.length > maxAncestors) {
    ancestors.sort(byPriority);
    ancestors.length = maxAncestors;
    overflowed.add(policy);
  }
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
 * After all targets: a list that overflowed is left in priority order, and its last entry says
 * that ancestors were left out.
 */
export function truncateAncestors(t: Translation, policy: StatusPolicy): void {
  const ancestors = policy.status?.ancestors;
  if (!ancestors || !overflowed.has(policy)) return;
  ancestors.sort(byPriority);
  setAncestorCondition(t, policy, ancestors[ancestors.length - 1]!.ancestorRef, 'Aggregated', 'True', 'Aggregated', `The ancestor list was cut to ${maxAncestors} entries.`);
}
