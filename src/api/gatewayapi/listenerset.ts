// ListenerSet (gateway.networking.k8s.io/v1) and its experimental predecessor XListenerSet
// (gateway.networking.x-k8s.io/v1alpha1): listeners that attach to a Gateway from outside it.
import { resource } from '../meta.js';
import { int32, list, rule, z } from '../schema.js';
import { AllowedRoutes, checkListeners, ListenerTLSConfig, ProtocolType, RouteGroupKind } from './gateway.js';
import { Conditions, Group, Hostname, Kind, Namespace, ObjectName, PortNumber, SectionName } from './shared.js';

export const ParentGatewayReference = z.strictObject({
  group: Group.default('gateway.networking.k8s.io'),
  kind: Kind.default('Gateway'),
  name: ObjectName,
  namespace: Namespace.optional(),
});
export type ParentGatewayReference = z.input<typeof ParentGatewayReference>;

export const ListenerEntry = z.strictObject({
  name: SectionName,
  hostname: Hostname.optional(),
  port: PortNumber,
  protocol: ProtocolType,
  tls: ListenerTLSConfig.optional(),
  allowedRoutes: AllowedRoutes.prefault({ namespaces: { from: 'Same' } }),
});
export type ListenerEntry = z.input<typeof ListenerEntry>;

export const ListenerSetSpec = z.strictObject({
  parentRef: ParentGatewayReference,
  listeners: list(ListenerEntry, 64, 1).superRefine(rule((ls, fail) => checkListeners(ls, fail, 'ListenerSet'))),
});
export type ListenerSetSpec = z.input<typeof ListenerSetSpec>;

export const ListenerEntryStatus = z.strictObject({
  name: SectionName,
  port: PortNumber.optional(),
  supportedKinds: list(RouteGroupKind, 8).optional(),
  attachedRoutes: int32(),
  conditions: Conditions,
});
export type ListenerEntryStatus = z.input<typeof ListenerEntryStatus>;

export const ListenerSetStatus = z.strictObject({
  conditions: Conditions.optional(),
  listeners: list(ListenerEntryStatus, 64).optional(),
});
export type ListenerSetStatus = z.input<typeof ListenerSetStatus>;

export const ListenerSet = resource(['ListenerSet', 'XListenerSet'], { spec: ListenerSetSpec, status: ListenerSetStatus.optional() });
export type ListenerSet = z.input<typeof ListenerSet>;
/** The experimental name of the same kind. */
export const XListenerSet = ListenerSet;
export type XListenerSet = ListenerSet;
