// EnvoyPatchPolicy: JSON patches a Gateway's (or, with merged Gateways, a GatewayClass's) owner
// applies to the generated xDS. The translator checks the target and carries the patches in the
// IR of that proxy, with the policy's status for the xds translator to complete.
import type { EnvoyPatchPolicy } from '../api/envoygateway/index.js';
import type * as ir from '../ir/xds.js';
import { GatewayGroup, withFreshStatus, type WithStatus } from './contexts.js';
import { setAncestorCondition, type AncestorRef } from './policystatus.js';
import type { Translation } from './translation.js';

export function processEnvoyPatchPolicies(t: Translation): WithStatus<EnvoyPatchPolicy>[] {
  const out: WithStatus<EnvoyPatchPolicy>[] = [];
  for (const input of t.resources.envoyPatchPolicies) {
    const policy = withFreshStatus(input, { ...input.status, ancestors: [...(input.status?.ancestors ?? [])] });
    out.push(policy);
    const target: Partial<EnvoyPatchPolicy['spec']['targetRef']> = policy.spec?.targetRef ?? {};
    const targetName = target.name ?? '';
    const ns = policy.metadata.namespace ?? '';
    let targetKind: string;
    let irKey: string;
    let ancestor: AncestorRef;
    if (t.mergeGateways) {
      targetKind = 'GatewayClass';
      irKey = targetName;
      ancestor = { group: GatewayGroup, kind: 'GatewayClass', name: targetName };
    } else {
      targetKind = 'Gateway';
      irKey = `${ns}/${targetName}`;
      ancestor = { group: GatewayGroup, kind: 'Gateway', namespace: ns, name: targetName };
    }
    const xds = t.xdsIR[irKey];
    if (!xds) {
      // A policy for a Gateway that is not ours is left alone; with merged Gateways the class
      // is ours to name, so a wrong one is reported.
      if (t.mergeGateways) {
        const msg = `GatewayClass ${targetName} was not found or is not accepted (with merged Gateways)`;
        setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Invalid', msg);
      }
      continue;
    }
    const patches: ir.EnvoyPatchPolicy = { name: policy.metadata.name, namespace: ns, status: policy.status };
    if (policy.metadata.generation !== undefined) patches.generation = policy.metadata.generation;
    (xds.envoyPatchPolicies ??= []).push(patches);

    if (!t.settings.envoyPatchPolicyEnabled) {
      setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Disabled', 'EnvoyPatchPolicy is disabled in the EnvoyGateway configuration');
      continue;
    }
    if (target.group !== GatewayGroup || target.kind !== targetKind) {
      const msg = `targetRef ${target.group}/${target.kind} is not supported; use ${GatewayGroup}/${targetKind}`;
      setAncestorCondition(t, policy, ancestor, 'Accepted', 'False', 'Invalid', msg);
      continue;
    }
    patches.jsonPatches = (policy.spec?.jsonPatches ?? []).map((p) => {
      const from = p.operation;
      const op: ir.JSONPatchOperation = { op: from?.op };
      if (from?.path !== undefined) op.path = from.path;
      if (from?.jsonPath !== undefined) op.jsonPath = from.jsonPath;
      if (from?.from !== undefined) op.from = from.from;
      // The patch value is raw JSON, handed on as written.
      if (from?.value !== undefined) op.value = from.value;
      return { type: p.type, name: p.name, operation: op };
    });
    setAncestorCondition(t, policy, ancestor, 'Accepted', 'True', 'Accepted', 'The policy is accepted');
  }
  return out;
}
