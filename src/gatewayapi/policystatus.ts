// Policy status (Gateway API PolicyStatus): one entry per ancestor the policy applies through,
// each with its conditions, written by this controller.
import type { AnyObject } from '../resources/resources.js';
import { setCondition, type ConditionStatus } from './status.js';
import type { Translation } from './translation.js';

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
export function setAncestorCondition(t: Translation, policy: AnyObject, ancestorRef: AncestorRef, type: string, status: ConditionStatus, reason: string, message: string): void {
  policy.status ??= {};
  const ancestors: any[] = (policy.status.ancestors ??= []);
  let entry = ancestors.find((a) => sameAncestor(a.ancestorRef, ancestorRef));
  if (!entry) {
    entry = { ancestorRef, controllerName: t.settings.gatewayControllerName, conditions: [] };
    ancestors.push(entry);
  }
  setCondition(entry.conditions, type, status, reason, message);
  const generation = policy.metadata?.generation;
  if (generation !== undefined) entry.conditions.find((c: any) => c.type === type).observedGeneration = generation;
}
