// Proxy-wide telemetry from the EnvoyProxy resource: access logs, tracing, metrics.
import type { MapEntry, NamedValue, ObjectReference } from './common.js';
import type { RouteDestination } from './destination.js';
import type { CustomTag, TrafficFeatures } from './traffic.js';

export interface AccessLog {
  text?: TextAccessLog[];
  json?: JSONAccessLog[];
  als?: ALSAccessLog[];
  openTelemetry?: OpenTelemetryAccessLog[];
}

/** Which traffic a log sink records: listener (connection) or route (request) events. */
export type AccessLogType = 'Listener' | 'Route';

export interface TextAccessLog {
  /** The format string; absent means Envoy Gateway's default format. */
  format?: string;
  path: string;
  celMatches?: string[];
  logType?: AccessLogType;
}

export interface JSONAccessLog {
  /** Ordered JSON fields: key → format string. */
  json?: MapEntry[];
  path: string;
  celMatches?: string[];
  logType?: AccessLogType;
}

/** Envoy's gRPC access log service (HTTP or TCP logs). */
export interface ALSAccessLog {
  /** The log name sent with each entry. */
  name: string;
  destination: RouteDestination;
  traffic?: TrafficFeatures;
  type: 'HTTP' | 'TCP';
  text?: string;
  attributes?: MapEntry[];
  http?: { requestHeaders?: string[]; responseHeaders?: string[]; responseTrailers?: string[] };
  celMatches?: string[];
  logType?: AccessLogType;
}

export interface OpenTelemetryAccessLog {
  authority: string;
  text?: string;
  attributes?: MapEntry[];
  resourceAttributes?: MapEntry[];
  /** Headers sent with each export request. */
  headers?: NamedValue[];
  destination: RouteDestination;
  traffic?: TrafficFeatures;
  celMatches?: string[];
  logType?: AccessLogType;
}

export interface Tracing {
  serviceName: string;
  authority?: string;
  /** Percent of requests traced. */
  samplingRate?: number;
  clientSamplingRate?: number;
  overallSamplingRate?: number;
  customTags?: CustomTag[];
  destination: RouteDestination;
  traffic?: TrafficFeatures;
  /** The EnvoyProxy's tracing provider as written (type OpenTelemetry, Zipkin, Datadog...). */
  provider: TracingProvider;
  headers?: NamedValue[];
  resourceAttributes?: MapEntry[];
  spanName?: { client?: string; server?: string };
}

/** The EnvoyProxy API's TracingProvider, carried through the IR unchanged. */
export interface TracingProvider {
  type: 'OpenTelemetry' | 'Zipkin' | 'Datadog' | string;
  host?: string;
  port?: number;
  backendRefs?: ObjectReference[];
  /** The API's ClusterSettings (backendSettings), as written. */
  backendSettings?: Record<string, unknown>;
  zipkin?: { enable128BitTraceId?: boolean; disableSharedSpanContext?: boolean };
  openTelemetry?: {
    sampler?: { type?: string; samplingPercentage?: { numerator?: number; denominator?: number } };
  };
  [k: string]: unknown;
}

export interface Metrics {
  enableVirtualHostStats?: boolean;
  enablePerEndpointStats?: boolean;
  enableRequestResponseSizesStats?: boolean;
}
