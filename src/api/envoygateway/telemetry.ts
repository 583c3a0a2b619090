// The proxy fleet's telemetry: access logs (file, ALS, OpenTelemetry sinks), tracing
// providers and metrics sinks.
import { int32, list, rule, str, z } from '../schema.js';
import { Fraction as GatewayFraction } from '../gatewayapi/shared.js';
import { backendClusterShape, Compression, GoDuration, StringMatch } from './shared.js';

/** Where an OpenTelemetry exporter sends to: host/port (deprecated) or backendRefs. */
const hostPortOrBackends = {
  host: str().optional(),
  port: int32(0, 65535).optional(),
  ...backendClusterShape,
};

export const ProxyAccessLogFormat = z
  .strictObject({
    type: z.enum(['Text', 'JSON']).optional(),
    text: str().optional(),
    json: z.record(z.string(), z.string()).optional(),
  })
  .superRefine(
    rule((f, fail) => {
      if (f.type === 'Text' && f.json !== undefined) fail('json may only be set when type is JSON', 'json');
      if (f.type === 'JSON' && f.text !== undefined) fail('text may only be set when type is Text', 'text');
    }),
  );

export const ALSEnvoyProxyAccessLog = z.strictObject({
  ...backendClusterShape,
  logName: str({ min: 1 }).optional(),
  type: z.enum(['HTTP', 'TCP']),
  http: z
    .strictObject({
      requestHeaders: list(str()).optional(),
      responseHeaders: list(str()).optional(),
      responseTrailers: list(str()).optional(),
    })
    .optional(),
});

export const OpenTelemetryEnvoyProxyAccessLog = z.strictObject({
  ...hostPortOrBackends,
  resources: z.record(z.string(), z.string()).optional(),
  resourceAttributes: z.record(z.string(), z.string()).optional(),
  headers: list(z.strictObject({ name: str(), value: str() })).optional(),
});

export const ProxyAccessLogSink = z
  .strictObject({
    type: z.enum(['File', 'ALS', 'OpenTelemetry']),
    file: z.strictObject({ path: str({ min: 1 }) }).optional(),
    als: ALSEnvoyProxyAccessLog.optional(),
    openTelemetry: OpenTelemetryEnvoyProxyAccessLog.optional(),
  })
  .superRefine(
    rule((s, fail) => {
      const field = { File: 'file', ALS: 'als', OpenTelemetry: 'openTelemetry' } as const;
      for (const [type, key] of Object.entries(field)) {
        const present = (s as Record<string, unknown>)[key] !== undefined;
        if (s.type === type && !present) fail(`${key} is required when type is ${type}`, key);
        if (present && s.type !== type) fail(`${key} may only be set when type is ${type}`, key);
      }
    }),
  );

export const ProxyAccessLogSetting = z.strictObject({
  format: ProxyAccessLogFormat.optional(),
  matches: list(str()).optional(),
  sinks: list(ProxyAccessLogSink, 50, 1),
  type: z.enum(['Listener', 'Route']).optional(),
});

export const ProxyAccessLog = z.strictObject({
  disable: z.boolean().optional(),
  settings: list(ProxyAccessLogSetting, 50).optional(),
});

export const CustomTag = z.strictObject({
  type: z.enum(['Literal', 'Environment', 'RequestHeader']).default('Literal'),
  literal: z.strictObject({ value: str() }).optional(),
  environment: z.strictObject({ name: str(), defaultValue: str().optional() }).optional(),
  requestHeader: z.strictObject({ name: str(), defaultValue: str().optional() }).optional(),
});

export const TracingProvider = z.strictObject({
  ...hostPortOrBackends,
  type: z.enum(['OpenTelemetry', 'Zipkin', 'Datadog']).default('OpenTelemetry'),
  serviceName: str().optional(),
  zipkin: z.strictObject({ enable128BitTraceId: z.boolean().optional(), disableSharedSpanContext: z.boolean().optional() }).optional(),
  openTelemetry: z
    .strictObject({
      resourceDetectors: z.record(z.string(), z.unknown()).optional(),
      // The sampler's settings beyond type and percentage are not pinned down here; they pass.
      sampler: z.looseObject({ type: str(), samplingPercentage: GatewayFraction.optional() }).optional(),
      headers: list(z.strictObject({ name: str(), value: str() })).optional(),
    })
    .optional(),
});

export const ProxyTracing = z.strictObject({
  samplingRate: int32(0, 100).optional(),
  samplingFraction: GatewayFraction.optional(),
  clientSamplingFraction: GatewayFraction.optional(),
  overallSamplingFraction: GatewayFraction.optional(),
  customTags: z.record(z.string(), CustomTag).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  provider: TracingProvider,
  spanName: z.strictObject({ client: str(), server: str() }).optional(),
});

export const ProxyMetricSink = z.strictObject({
  type: z.enum(['OpenTelemetry']).default('OpenTelemetry'),
  openTelemetry: z
    .strictObject({
      ...hostPortOrBackends,
      reportCountersAsDeltas: z.boolean().optional(),
      reportHistogramsAsDeltas: z.boolean().optional(),
      exportInterval: GoDuration.optional(),
      exportTimeout: GoDuration.optional(),
    })
    .optional(),
});

export const ProxyMetrics = z.strictObject({
  prometheus: z
    .strictObject({ disable: z.boolean().optional(), compression: Compression.optional() })
    .optional(),
  sinks: list(ProxyMetricSink, 16).optional(),
  matches: list(StringMatch).optional(),
  enableVirtualHostStats: z.boolean().optional(),
  enablePerEndpointStats: z.boolean().optional(),
  enableRequestResponseSizesStats: z.boolean().optional(),
  enableGRPCStats: z.boolean().optional(),
  clusterStatName: str().optional(),
  routeStatName: str().optional(),
});

export const ProxyTelemetry = z.strictObject({
  accessLog: ProxyAccessLog.optional(),
  tracing: ProxyTracing.optional(),
  metrics: ProxyMetrics.optional(),
  requestID: z.strictObject({ tracing: z.enum(['PackAndSample', 'Sample', 'Pack', 'Disable']).optional() }).optional(),
  healthCheckLog: z
    .strictObject({
      matches: list(str()).optional(),
      sinks: list(ProxyAccessLogSink).optional(),
      format: ProxyAccessLogFormat.optional(),
    })
    .optional(),
});
export type ProxyTelemetry = z.input<typeof ProxyTelemetry>;

