// EnvoyPatchPolicy: JSON patches a Gateway's (or, with merged Gateways, a GatewayClass's) owner
// applies to the generated xDS. The translator checks the target and carries the patches in the
// IR of that proxy, with the policy's status for the xds translator to complete.
import type { AnyObject } from '../resources/resources.js';
import { GatewayGroup, withFreshStatus } from './contexts.js';
import { setAncestorCondition, type AncestorRef } from './policystatus.js';
import type { Translation } from './translation.js';

export function processEnvoyPatchPolicies(t: Translation): AnyObject[] {
  const out: AnyObject[] = [];
  for (const input of t.resources.envoyPatchPolicies) {
    const policy = withFreshStatus(input, { ...(input.status ?? {}), ancestors: [...(input.status?.ancestors ?? [])] });
    out.push(policy);
    const target = policy.spec?.targetRef ?? {};
    const ns = policy.metadata.namespace ?? '';
    let targetKind: string;
    let irKey: string;
    let ancestor: AncestorRef;
    if (t.mergeGateways) {
      targetKind = 'GatewayClass';
      irKey = target.name;
      ancestor = { group: GatewayGroup, kind: 'GatewayClass', name: target.name };
    } else {
      targetKind = 'Gateway';
      irKey = `${ns}/${target.name}`;
      ancestor = { group: GatewayGroup, kind: 'Gateway', namespace: ns, name: target.name };
    }
    const xds = t.xdsIR[irKey];
    if (!xds) {
      // A policy for a Gateway that is not ours is left alone; with merged Gateways the class
      // is ours to name, so a wrong one is reported.
      if (t.mergeGateways) {
        const msg = `GatewayClass ${target.name} was not found or is not accepted (with merged Gateways)`;
        setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Invalid', msg);
      }
      continue;
    }
    const ir: Record<string, any> = { name: policy.metadata.name, namespace: ns, status: policy.status };
    if (policy.metadata.generation !== undefined) ir.generation = policy.metadata.generation;
    (xds.envoyPatchPolicies ??= []).push(ir);

    if (!t.settings.envoyPatchPolicyEnabled) {
      setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Disabled', 'EnvoyPatchPolicy is disabled in the EnvoyGateway configuration');
      continue;
    }
    if (target.group !== GatewayGroup || target.kind !== targetKind) {
      const msg = `targetRef ${target.group}/${target.kind} is not supported; use ${GatewayGroup}/${targetKind}`;
      setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Invalid', msg);
      continue;
    }
    ir.jsonPatches = (policy.spec?.jsonPatches ?? []).map((p: any) => {
      const op: Record<string, any> = { op: p.operation?.op };
      for (const k of ['path', 'jsonPath', 'from', 'value'] as const) if (p.operation?.[k] !== undefined) op[k] = p.operation[k];
      return { type: p.type, name: p.name, operation: op };
    });
    setAncestorCondition(t, policy, ancestor, 'Accepted', 'True', 'Accepted', 'The policy is accepted');
  }
  return out;
}
