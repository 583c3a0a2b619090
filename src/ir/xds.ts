// The xDS IR: everything one Envoy fleet (one Gateway, or one GatewayClass when gateways are
// merged) is configured with. Its JSON form is Envoy Gateway's xDS IR, the input of the xds suite
// of the golden corpus and the `xdsIR` of the gatewayapi suite.
import type { IPFamily } from './common.js';
import type { BackendCluster, RouteDestination, TLSCertificate } from './destination.js';
import type { HTTPListener, TCPListener, UDPListener } from './listener.js';
import type { AccessLog, Metrics, Tracing } from './telemetry.js';
import type { HealthCheckLog } from './traffic.js';

export * from './common.js';
export * from './destination.js';
export * from './extensions.js';
export * from './listener.js';
export * from './route.js';
export * from './security.js';
export * from './telemetry.js';
export * from './traffic.js';

export interface Xds {
  /** The listener Envoy's readiness probe hits (`/ready` on 19003). */
  readyListener?: ReadyListener;
  accessLog?: AccessLog;
  tracing?: Tracing;
  metrics?: Metrics;
  http?: HTTPListener[];
  tcp?: TCPListener[];
  udp?: UDPListener[];
  envoyPatchPolicies?: EnvoyPatchPolicy[];
  /** Overrides of the default HTTP filter order. */
  filterOrder?: FilterPosition[];
  globalResources?: GlobalResources;
  /** Clusters shared by several routes, referenced by `RouteDestination.backendClusterRefs`. */
  backendClusters?: BackendCluster[];
  /** Proxy-wide health check event logging. */
  healthCheckLog?: HealthCheckLog;
  /** Policies for an extension server, carried opaquely. */
  extensionServerPolicies?: unknown[];
}

export interface ReadyListener {
  address: string;
  port: number;
  path: string;
  ipFamily?: IPFamily;
}

/** Resources used by several listeners/routes of this fleet. */
export interface GlobalResources {
  /** The proxy's own Service, for features that call back into Envoy (e.g. OIDC redirects). */
  proxyServiceCluster?: RouteDestination;
  /** Envoy's client certificate towards Envoy Gateway services (e.g. the Wasm cache). */
  envoyClientCertificate?: TLSCertificate;
}

/** One entry of the EnvoyProxy's filterOrder: put `name` before or after another filter. */
export interface FilterPosition {
  name: string;
  before?: string;
  after?: string;
}

/** An EnvoyPatchPolicy as the xds translator applies it, with its status to fill in. */
export interface EnvoyPatchPolicy {
  name: string;
  namespace: string;
  generation?: number;
  jsonPatches?: JSONPatchConfig[];
  status?: EnvoyPatchPolicyStatus;
}

export interface JSONPatchConfig {
  /** The resource's type URL, e.g. type.googleapis.com/envoy.config.listener.v3.Listener. */
  type: string;
  /** The resource's name. */
  name: string;
  operation: JSONPatchOperation;
}

/** An RFC 6902 operation; `jsonPath` (optional) selects the nodes `path` is relative to. */
export interface JSONPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test' | string;
  path?: string;
  jsonPath?: string;
  from?: string;
  value?: unknown;
}

/** Gateway API PolicyStatus. */
export interface EnvoyPatchPolicyStatus {
  ancestors?: PolicyAncestorStatus[];
}

export interface PolicyAncestorStatus {
  ancestorRef: { group?: string; kind?: string; name: string; namespace?: string; sectionName?: string; port?: number };
  controllerName?: string;
  conditions?: {
    type: string;
    status: 'True' | 'False' | 'Unknown';
    reason: string;
    message: string;
    observedGeneration?: number;
    /** As the status was read (a timestamp string, or a Date from YAML); null when not stamped yet. */
    lastTransitionTime?: string | Date | null;
  }[];
}

