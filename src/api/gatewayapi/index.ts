// The Gateway API kinds (v1.6, standard and experimental channels) and where they are served.
import type { KindInfo } from '../kinds.js';
import { BackendTLSPolicy } from './backendtlspolicy.js';
import { Gateway, GatewayClass } from './gateway.js';
import { GRPCRoute } from './grpcroute.js';
import { HTTPRoute } from './httproute.js';
import { ListenerSet } from './listenerset.js';
import { ReferenceGrant } from './referencegrant.js';
import { TCPRoute, TLSRoute, UDPRoute } from './streamroutes.js';

export * from './backendtlspolicy.js';
export * from './gateway.js';
export * from './grpcroute.js';
export * from './httpfilters.js';
export * from './httproute.js';
export * from './listenerset.js';
export * from './referencegrant.js';
export * from './shared.js';
export * from './streamroutes.js';

export const GatewayAPIGroup = 'gateway.networking.k8s.io';
export const GatewayAPIExperimentalGroup = 'gateway.networking.x-k8s.io';

const g = GatewayAPIGroup;
export const gatewayAPIKinds: readonly KindInfo[] = [
  { group: g, kind: 'GatewayClass', versions: ['v1', 'v1beta1'], schema: GatewayClass, namespaced: false },
  { group: g, kind: 'Gateway', versions: ['v1', 'v1beta1'], schema: Gateway, namespaced: true },
  { group: g, kind: 'HTTPRoute', versions: ['v1', 'v1beta1'], schema: HTTPRoute, namespaced: true },
  { group: g, kind: 'GRPCRoute', versions: ['v1', 'v1alpha2'], schema: GRPCRoute, namespaced: true },
  { group: g, kind: 'TLSRoute', versions: ['v1', 'v1alpha3', 'v1alpha2'], schema: TLSRoute, namespaced: true },
  { group: g, kind: 'TCPRoute', versions: ['v1', 'v1alpha2'], schema: TCPRoute, namespaced: true },
  { group: g, kind: 'UDPRoute', versions: ['v1', 'v1alpha2'], schema: UDPRoute, namespaced: true },
  { group: g, kind: 'ReferenceGrant', versions: ['v1', 'v1beta1', 'v1alpha2'], schema: ReferenceGrant, namespaced: true },
  { group: g, kind: 'BackendTLSPolicy', versions: ['v1', 'v1alpha3', 'v1alpha2'], schema: BackendTLSPolicy, namespaced: true },
  { group: g, kind: 'ListenerSet', versions: ['v1', 'v1alpha1'], schema: ListenerSet, namespaced: true },
  { group: GatewayAPIExperimentalGroup, kind: 'XListenerSet', versions: ['v1alpha1'], schema: ListenerSet, namespaced: true },
];
