// EnvoyPatchPolicy: JSON patches applied to the xDS resources generated for a Gateway (or for
// all Gateways of a GatewayClass when they are merged).
import { resource } from '../meta.js';
import { int32, list, str, z } from '../schema.js';
import { LocalPolicyTargetReference, PolicyStatus } from '../gatewayapi/shared.js';
import { JSONPatchOperation } from './envoyproxy.js';

/** The xDS resource types a patch may address. */
export const EnvoyResourceType = z.enum([
  'type.googleapis.com/envoy.config.listener.v3.Listener',
  'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
]);

export const EnvoyJSONPatchConfig = z.strictObject({
  type: EnvoyResourceType,
  name: str({ min: 1 }),
  operation: JSONPatchOperation,
});

export const EnvoyPatchPolicySpec = z.strictObject({
  type: z.enum(['JSONPatch']),
  jsonPatches: list(EnvoyJSONPatchConfig).optional(),
  targetRef: LocalPolicyTargetReference,
  priority: int32().optional(),
});
export type EnvoyPatchPolicySpec = z.input<typeof EnvoyPatchPolicySpec>;

export const EnvoyPatchPolicy = resource('EnvoyPatchPolicy', { spec: EnvoyPatchPolicySpec, status: PolicyStatus.optional() });
export type EnvoyPatchPolicy = z.input<typeof EnvoyPatchPolicy>;
