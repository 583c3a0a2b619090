// Tracing: the connection manager's tracing provider (OpenTelemetry, Zipkin, Datadog) with its
// sampling and custom tags, and the per-route sampling overrides.
import type { CustomTag, FractionalPercent, Tracing } from '../../ir/xds.js';
import { typed, type Msg } from './util.js';

const denominators: Record<number, string | undefined> = { 100: undefined, 10000: 'TEN_THOUSAND', 1000000: 'MILLION' };

/** An IR fraction (numerator over 100 by default) as an envoy.type.v3.FractionalPercent. */
export function fraction(f: FractionalPercent): Msg {
  const d = f.denominator ?? 100;
  if (d in denominators) {
    const out: Msg = { numerator: f.numerator };
    if (denominators[d]) out.denominator = denominators[d];
    return out;
  }
  return { numerator: Math.round((f.numerator * 1000000) / d), denominator: 'MILLION' };
}

/** A percentage (0-100, possibly fractional) as an envoy.type.v3.Percent. */
export function percent(p: number): Msg {
  return { value: p };
}

export function buildCustomTags(tags: CustomTag[] | undefined): Msg[] | undefined {
  if (!tags?.length) return undefined;
  return tags.map((t) => {
    const v = t.value;
    const out: Msg = { tag: t.key };
    switch (v.type) {
      case 'Literal':
        out.literal = { value: v.literal?.value ?? '' };
        break;
      case 'Environment':
        out.environment = { name: v.environment?.name ?? '', defaultValue: v.environment?.defaultValue };
        if (out.environment.defaultValue === undefined) delete out.environment.defaultValue;
        break;
      case 'RequestHeader':
        out.requestHeader = { name: v.requestHeader?.name ?? '', defaultValue: v.requestHeader?.defaultValue };
        if (out.requestHeader.defaultValue === undefined) delete out.requestHeader.defaultValue;
        break;
      default:
        break;
    }
    return out;
  });
}

/** An OpenTelemetry sampler extension for the provider's sampler settings. */
function otelSampler(s: { type?: string; samplingPercentage?: { numerator?: number; denominator?: number } } | undefined): Msg | undefined {
  if (!s?.type) return undefined;
  const pct = s.samplingPercentage;
  const ratio = (): Msg => {
    const value = pct ? ((pct.numerator ?? 0) * 100) / (pct.denominator ?? 100) : 100;
    return {
      name: 'envoy.tracers.opentelemetry.samplers.trace_id_ratio_based',
      typedConfig: typed('envoy.extensions.tracers.opentelemetry.samplers.v3.TraceIdRatioBasedSamplerConfig', {
        samplingPercentage: value ? { value } : {},
      }),
    };
  };
  switch (s.type) {
    case 'AlwaysOn':
      return { name: 'envoy.tracers.opentelemetry.samplers.always_on', typedConfig: typed('envoy.extensions.tracers.opentelemetry.samplers.v3.AlwaysOnSamplerConfig') };
    case 'TraceIdRatio':
      return ratio();
    case 'ParentBasedTraceIdRatio':
      return {
        name: 'envoy.tracers.opentelemetry.samplers.parent_based',
        typedConfig: typed('envoy.extensions.tracers.opentelemetry.samplers.v3.ParentBasedSamplerConfig', { wrappedSampler: ratio() }),
      };
    default:
      return undefined;
  }
}

export class TracingError extends Error {}

/** The tracer of the HTTP connection manager for the proxy's tracing provider. */
function tracingProvider(t: Tracing): Msg {
  const p = t.provider;
  switch (p.type) {
    case 'OpenTelemetry': {
      const grpc: Msg = { envoyGrpc: { authority: t.authority, clusterName: t.destination.name } };
      if (t.headers?.length) grpc.initialMetadata = t.headers.map((h) => ({ key: h.name, value: h.value }));
      const cfg: Msg = { grpcService: grpc, serviceName: t.serviceName };
      if (t.resourceAttributes?.length) {
        cfg.resourceDetectors = [{
          name: 'envoy.tracers.opentelemetry.resource_detectors.static_config',
          typedConfig: typed('envoy.extensions.tracers.opentelemetry.resource_detectors.v3.StaticConfigResourceDetectorConfig', {
            attributes: Object.fromEntries(t.resourceAttributes.map((a) => [a.key, a.value])),
          }),
        }];
      }
      const sampler = otelSampler(p.openTelemetry?.sampler);
      if (sampler) cfg.sampler = sampler;
      return { name: 'envoy.tracers.opentelemetry', typedConfig: typed('envoy.config.trace.v3.OpenTelemetryConfig', cfg) };
    }
    case 'Datadog':
      return {
        name: 'envoy.tracers.datadog',
        typedConfig: typed('envoy.config.trace.v3.DatadogConfig', { collectorCluster: t.destination.name, serviceName: t.serviceName }),
      };
    case 'Zipkin': {
      const cfg: Msg = {
        collectorCluster: t.destination.name,
        collectorEndpoint: '/api/v2/spans',
        collectorEndpointVersion: 'HTTP_JSON',
      };
      if (p.zipkin?.enable128BitTraceId) cfg.traceId128bit = true;
      cfg.sharedSpanContext = !p.zipkin?.disableSharedSpanContext;
      return { name: 'envoy.traces.zipkin', typedConfig: typed('envoy.config.trace.v3.ZipkinConfig', cfg) };
    }
    default:
      throw new TracingError(`unknown tracing provider type: ${p.type}`);
  }
}

/** The connection manager's tracing settings: provider, sampling, custom tags, span names. */
export function buildHCMTracing(t: Tracing | undefined): Msg | undefined {
  if (!t) return undefined;
  const out: Msg = {
    clientSampling: t.clientSamplingRate ? { value: t.clientSamplingRate } : {},
    randomSampling: { value: t.samplingRate ?? 100 },
    overallSampling: { value: t.overallSamplingRate ?? 100 },
  };
  const tags = buildCustomTags(t.customTags);
  if (tags) out.customTags = tags;
  out.provider = tracingProvider(t);
  if (t.spanName?.client) out.operation = t.spanName.client;
  if (t.spanName?.server) out.upstreamOperation = t.spanName.server;
  out.spawnUpstreamSpan = true;
  return out;
}
