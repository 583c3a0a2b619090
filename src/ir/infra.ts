// The infra IR: what the infra manager needs to run one Envoy fleet (its Service ports, labels,
// owner, EnvoyProxy configuration). Its JSON form is Envoy Gateway's infra IR (`infraIR` of the
// gatewayapi suite).
import type { RouteDestination } from './destination.js';

export interface Infra {
  proxy: ProxyInfra;
}

export interface ProxyInfra {
  metadata?: InfraMetadata;
  /** The IR key: `<namespace>/<gateway>` or the GatewayClass name when gateways are merged. */
  name: string;
  /** The namespace the proxy runs in (the controller's, or the Gateway's in namespace mode). */
  namespace?: string;
  /** The EnvoyProxy resource in effect, as written (with its status). */
  config?: EnvoyProxyConfig;
  listeners?: ProxyListener[];
  /** The Gateway's spec.addresses values. */
  addresses?: string[];
  /** OpenTelemetry metric sinks resolved to destinations. */
  resolvedMetricSinks?: ResolvedMetricSink[];
}

/** The EnvoyProxy object; typed loosely here, its schema lives with the API types. */
export interface EnvoyProxyConfig {
  apiVersion?: string;
  kind?: string;
  metadata?: { name: string; namespace?: string; [k: string]: unknown };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface InfraMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReference?: { kind: string; name: string };
}

export interface ProxyListener {
  name: string;
  address?: string;
  ports?: ListenerPort[];
  /** Present when HTTP/3 is enabled: the Service also exposes the port over UDP. */
  http3?: Record<string, unknown>;
}

export interface ListenerPort {
  /** `<protocol>-<servicePort>`, e.g. http-80. */
  name: string;
  /** HTTP, HTTPS, TCP, UDP, TLS. */
  protocol: string;
  servicePort: number;
  containerPort: number;
}

export interface ResolvedMetricSink {
  destination: RouteDestination;
  authority?: string;
  reportCountersAsDeltas?: boolean;
  reportHistogramsAsDeltas?: boolean;
}
