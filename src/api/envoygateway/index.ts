// The gateway.envoyproxy.io kinds and where they are served.
import type { KindInfo } from '../kinds.js';
import { Backend } from './backend.js';
import { BackendTrafficPolicy } from './backendtrafficpolicy.js';
import { ClientTrafficPolicy } from './clienttrafficpolicy.js';
import { EnvoyExtensionPolicy } from './envoyextensionpolicy.js';
import { EnvoyGateway } from './envoygateway.js';
import { EnvoyPatchPolicy } from './envoypatchpolicy.js';
import { EnvoyProxy } from './envoyproxy.js';
import { HTTPRouteFilter } from './httproutefilter.js';
import { SecurityPolicy } from './securitypolicy.js';

export * from './auth.js';
export * from './backend.js';
export * from './backendtrafficpolicy.js';
export * from './clienttrafficpolicy.js';
export * from './envoyextensionpolicy.js';
export * from './envoygateway.js';
export * from './envoypatchpolicy.js';
export * from './envoyproxy.js';
export * from './httproutefilter.js';
export * from './kubernetes.js';
export * from './ratelimit.js';
export * from './securitypolicy.js';
export * from './shared.js';
export * from './telemetry.js';

export const EnvoyGatewayGroup = 'gateway.envoyproxy.io';

const g = EnvoyGatewayGroup;
const v = ['v1alpha1'] as const;
export const envoyGatewayKinds: readonly KindInfo[] = [
  { group: g, kind: 'EnvoyProxy', versions: v, schema: EnvoyProxy, namespaced: true },
  { group: g, kind: 'Backend', versions: v, schema: Backend, namespaced: true },
  { group: g, kind: 'HTTPRouteFilter', versions: v, schema: HTTPRouteFilter, namespaced: true },
  { group: g, kind: 'EnvoyPatchPolicy', versions: v, schema: EnvoyPatchPolicy, namespaced: true },
  { group: g, kind: 'ClientTrafficPolicy', versions: v, schema: ClientTrafficPolicy, namespaced: true },
  { group: g, kind: 'BackendTrafficPolicy', versions: v, schema: BackendTrafficPolicy, namespaced: true },
  { group: g, kind: 'SecurityPolicy', versions: v, schema: SecurityPolicy, namespaced: true },
  { group: g, kind: 'EnvoyExtensionPolicy', versions: v, schema: EnvoyExtensionPolicy, namespaced: true },
  { group: g, kind: 'EnvoyGateway', versions: v, schema: EnvoyGateway, namespaced: false },
];
