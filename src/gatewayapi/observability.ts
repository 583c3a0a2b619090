// Proxy telemetry from the EnvoyProxy: access logs, tracing and metrics sinks, with the backends
// they send to resolved like route backends. A backend that does not resolve rejects the Gateway.
import type { BackendCluster, ProxyTelemetry } from '../api/envoygateway/index.js';
import type { Fraction } from '../api/gatewayapi/index.js';
import type { Infra, ResolvedMetricSink } from '../ir/infra.js';
import type * as ir from '../ir/xds.js';
import type { GatewayContext, ProxyConfig } from './contexts.js';
import { backendDestination, resourceMetadata, serviceDestination, endpoint, type DestinationSetting } from './destinations.js';
import { targetedByBackendTLSPolicy, validateBackend } from './backends.js';
import { Reason } from './status.js';
import { clusterTraffic, SettingError } from './clustersettings.js';
import { telemetryBackendTLS } from './backendtls.js';
import type { Translation } from './translation.js';
import { isIPAddress } from './backends.js';

class TelemetryError extends Error {}

type Tracing = NonNullable<ProxyTelemetry['tracing']>;

export function processProxyObservability(t: Translation, g: GatewayContext, xds: ir.Xds, infra: Infra): void {
  const ep = g.envoyProxy;
  try {
    const al = accessLog(t, ep);
    if (al) xds.accessLog = al;
  } catch (e) {
    return reject(g, e, 'access log');
  }
  try {
    const tr = tracing(t, g, ep);
    if (tr) xds.tracing = tr;
  } catch (e) {
    return reject(g, e, 'tracing');
  }
  const hcl = healthCheckLog(ep);
  if (hcl) xds.healthCheckLog = hcl;
  try {
    const m = metrics(t, ep);
    if (m) {
      xds.metrics = m.metrics;
      if (m.sinks.length) infra.proxy.resolvedMetricSinks = m.sinks;
    }
  } catch (e) {
    return reject(g, e, 'metrics');
  }
}

function reject(g: GatewayContext, e: unknown, what: string): void {
  if (!(e instanceof TelemetryError) && !(e instanceof SettingError)) throw e;
  g.setCondition('Accepted', 'False', Reason.InvalidParameters, `Invalid ${what} backendRefs in the referenced EnvoyProxy: ${(e as Error).message}`);
}

function accessLog(t: Translation, ep: ProxyConfig | undefined): ir.AccessLog | undefined {
  const al = ep?.spec?.telemetry?.accessLog;
  if (!al || (!al.disable && !(al.settings ?? []).length)) return { json: [{ path: '/dev/stdout' }] };
  if (al.disable) return undefined;
  const out: ir.AccessLog = {};
  (al.settings ?? []).forEach((s, i) => {
    const logType = s.type === 'Route' || s.type === 'Listener' ? s.type : undefined;
    const format = s.format ?? { type: 'JSON' };
    const celMatches: string[] = [];
    for (const expr of s.matches ?? []) {
      if (!validCEL(expr)) throw new TelemetryError(`invalid CEL expression: ${expr}`);
      celMatches.push(expr);
    }
    const common = <T extends ir.TextAccessLog | ir.JSONAccessLog | ir.ALSAccessLog | ir.OpenTelemetryAccessLog>(o: T): T => {
      if (celMatches.length) o.celMatches = celMatches;
      if (logType) o.logType = logType;
      return o;
    };
    const jsonAttrs = mapToSlice(format.json);
    if (!(s.sinks ?? []).length) {
      (out.json ??= []).push(common({ ...(jsonAttrs ? { json: jsonAttrs } : {}), path: '/dev/stdout' }));
    }
    (s.sinks ?? []).forEach((sink, j) => {
      switch (sink.type) {
        case 'File': {
          if (!sink.file) return;
          if (format.type === 'Text') (out.text ??= []).push(common({ format: format.text, path: sink.file.path }));
          else (out.json ??= []).push(common({ ...(jsonAttrs ? { json: jsonAttrs } : {}), path: sink.file.path }));
          return;
        }
        case 'ALS': {
          if (!sink.als) return;
          const destName = `accesslog_als_${i}_${j}`;
          const { settings, traffic } = telemetryBackends(t, `${destName}/backend/-1`, sink.als, ep!);
          for (const d of settings) d.protocol = 'GRPC';
          const a: ir.ALSAccessLog = {
            name: sink.als.logName ?? `${ep!.metadata.namespace}/${ep!.metadata.name}`,
            destination: { name: destName, settings, metadata: resourceMetadata(ep!, undefined, 'EnvoyProxy') },
            type: sink.als.type,
          };
          if (traffic) a.traffic = traffic;
          common(a);
          if (sink.als.type === 'HTTP' && sink.als.http) {
            a.http = { requestHeaders: sink.als.http.requestHeaders, responseHeaders: sink.als.http.responseHeaders, responseTrailers: sink.als.http.responseTrailers };
          }
          if (format.type === 'Text') a.text = format.text;
          else if (jsonAttrs) a.attributes = jsonAttrs;
          (out.als ??= []).push(a);
          return;
        }
        case 'OpenTelemetry': {
          const o = sink.openTelemetry;
          if (!o) return;
          const destName = `accesslog_otel_${i}_${j}`;
          const settingName = `${destName}/backend/-1`;
          let { settings, traffic } = telemetryBackends(t, settingName, o, ep!);
          for (const d of settings) d.protocol = 'GRPC';
          let authority = authorityOf(settings);
          if (settings.length === 0) {
            settings = hostPortSetting(settingName, o.host ?? '', o.port ?? 0);
            authority = o.host ?? '';
          }
          // The authority is left out when there is none (the IR's JSON omits an empty one).
          const a = { destination: { name: destName, settings, metadata: resourceMetadata(ep!, undefined, 'EnvoyProxy') } } as ir.OpenTelemetryAccessLog;
          if (authority) a.authority = authority;
          const res = mapToSlice(o.resourceAttributes ?? o.resources);
          if (res) a.resourceAttributes = res;
          if (o.headers) a.headers = o.headers;
          if (traffic) a.traffic = traffic;
          common(a);
          if (!format.type || format.type === 'Text') if (format.text !== undefined) a.text = format.text;
          if (!format.type || format.type === 'JSON') if (jsonAttrs) a.attributes = jsonAttrs;
          (out.openTelemetry ??= []).push(a);
          return;
        }
      }
    });
  });
  return out;
}

function tracing(t: Translation, g: GatewayContext, ep: ProxyConfig | undefined): ir.Tracing | undefined {
  const tr = ep?.spec?.telemetry?.tracing;
  if (!tr) return undefined;
  const provider: Partial<Tracing['provider']> = tr.provider ?? {};
  const settingName = 'tracing/backend/-1';
  let { settings, traffic } = telemetryBackends(t, settingName, provider, ep!);
  if (provider.type === 'OpenTelemetry') for (const d of settings) d.protocol = 'GRPC';
  let authority = authorityOf(settings);
  if (settings.length === 0) {
    settings = hostPortSetting(settingName, provider.host ?? '', provider.port ?? 0);
    authority = provider.host ?? '';
  }
  let serviceName = t.mergeGateways ? g.gateway.spec?.gatewayClassName : `${g.name}.${g.namespace}`;
  if (provider.serviceName) serviceName = provider.serviceName;
  const out: ir.Tracing = {
    serviceName,
    samplingRate: samplingRate(tr),
    destination: { name: 'tracing', settings, metadata: resourceMetadata(ep!, undefined, 'EnvoyProxy') },
    // The provider goes in as written.
    provider: provider as ir.TracingProvider,
  };
  if (authority) out.authority = authority;
  if (tr.clientSamplingFraction) out.clientSamplingRate = fractionRate(tr.clientSamplingFraction);
  if (tr.overallSamplingFraction) out.overallSamplingRate = fractionRate(tr.overallSamplingFraction);
  if (tr.customTags) out.customTags = customTags(tr.customTags);
  const ra = mapToSlice((provider.openTelemetry as { resourceAttributes?: Record<string, string> } | undefined)?.resourceAttributes);
  if (ra) out.resourceAttributes = ra;
  if (traffic) out.traffic = traffic;
  if (provider.openTelemetry?.headers) out.headers = provider.openTelemetry.headers;
  if (tr.spanName) out.spanName = tr.spanName;
  return out;
}

/**
 * Health check event logging. No matches logs every failure and success; otherwise Failure and
 * Success turn those on (transitions are always logged). Events go to the File sinks, or stdout.
 */
function healthCheckLog(ep: ProxyConfig | undefined): ir.HealthCheckLog | undefined {
  const h = ep?.spec?.telemetry?.healthCheckLog;
  if (!h) return undefined;
  const matches: string[] = h.matches ?? [];
  const out: ir.HealthCheckLog = {};
  if (!matches.length || matches.includes('Failure')) out.alwaysLogHealthCheckFailures = true;
  if (!matches.length || matches.includes('Success')) out.alwaysLogHealthCheckSuccess = true;
  const files = (h.sinks ?? []).flatMap((s) => (s.type === 'File' && s.file?.path ? [{ path: s.file.path }] : []));
  out.fileSinks = files.length ? files : [{ path: '/dev/stdout' }];
  return out;
}

function customTags(tags: NonNullable<Tracing['customTags']>): ir.CustomTag[] {
  return Object.keys(tags)
    .sort()
    // The tag goes in as written (its type defaults to Literal).
    .map((key) => ({ key, value: tags[key] as ir.CustomTag['value'] }));
}

function samplingRate(tr: Tracing): number {
  if (tr.samplingRate != null) return tr.samplingRate;
  if (tr.samplingFraction) return fractionRate(tr.samplingFraction);
  return 100;
}

/** A fraction as a percentage in [0, 100]. */
function fractionRate(f: Fraction): number {
  const rate = (f.numerator * 100) / (f.denominator ?? 100);
  return Math.min(100, Math.max(0, rate));
}

function metrics(t: Translation, ep: ProxyConfig | undefined): { metrics: ir.Metrics; sinks: ResolvedMetricSink[] } | undefined {
  const m = ep?.spec?.telemetry?.metrics;
  if (!m) return undefined;
  const sinks: ResolvedMetricSink[] = [];
  const seen = new Set<string>();
  (m.sinks ?? []).forEach((sink, i) => {
    const o = sink.openTelemetry;
    if (!o) return;
    const destName = `metrics_otel_${i}`;
    const settingName = `${destName}/backend/-1`;
    let { settings } = telemetryBackends(t, settingName, o, ep!);
    for (const d of settings) d.protocol = 'GRPC';
    let authority = authorityOf(settings);
    if (settings.length === 0 && o.host) {
      settings = hostPortSetting(settingName, o.host, o.port ?? 0);
      authority = o.host;
    }
    const first = settings[0]?.endpoints?.[0];
    if (!first) return;
    const addr = `${first.host}:${first.port}`;
    if (seen.has(addr)) return;
    seen.add(addr);
    const s: ResolvedMetricSink = { destination: { name: destName, settings, metadata: resourceMetadata(ep!, undefined, 'EnvoyProxy') } };
    if (authority) s.authority = authority;
    if (o.reportCountersAsDeltas) s.reportCountersAsDeltas = true;
    if (o.reportHistogramsAsDeltas) s.reportHistogramsAsDeltas = true;
    sinks.push(s);
  });
  const metricsIR: ir.Metrics = {};
  if (m.enableVirtualHostStats) metricsIR.enableVirtualHostStats = true;
  if (m.enablePerEndpointStats) metricsIR.enablePerEndpointStats = true;
  if (m.enableRequestResponseSizesStats) metricsIR.enableRequestResponseSizesStats = true;
  return { metrics: metricsIR, sinks };
}

/** Destination settings of a telemetry sink's backendRefs (Services or Backends). */
function telemetryBackends(t: Translation, name: string, cluster: BackendCluster, ep: ProxyConfig): { settings: DestinationSetting[]; traffic?: ir.TrafficFeatures } {
  const traffic = clusterTraffic(cluster.backendSettings);
  const settings: DestinationSetting[] = [];
  const epNamespace = ep.metadata.namespace ?? '';
  for (const ref of cluster.backendRefs ?? []) {
    const ns = ref.namespace || epNamespace;
    const kind = ref.kind || 'Service';
    if (kind === 'Service') {
      const svc = t.lookups.service(ns, ref.name);
      if (!svc) throw new TelemetryError(`service ${ns}/${ref.name} not found`);
      if (ref.port == null) throw new TelemetryError('a port is required for a Service backendRef');
      if (!(svc.spec?.ports ?? []).some((p) => p.port === ref.port && (p.protocol || 'TCP') === 'TCP')) {
        throw new TelemetryError(`TCP port ${ref.port} not found on service ${ns}/${ref.name}`);
      }
      const r = serviceDestination(t, name, ref, ns, 'TCP', 'Service', ep);
      if ('error' in r) throw new TelemetryError(r.error.message);
      settings.push(r.ds);
    } else if (kind === 'Backend') {
      if (!t.settings.backendEnabled) throw new TelemetryError('the Backend kind is not enabled');
      const b = t.lookups.backend(ns, ref.name);
      if (!b) throw new TelemetryError(`backend ${ns}/${ref.name} not found`);
      const err = validateBackend(b, !!t.settings.runningOnHost, targetedByBackendTLSPolicy(t, b));
      if (err) throw new TelemetryError(err.message);
      const ds = backendDestination(name, b, 'TCP');
      if (ds.isDynamicResolver) throw new TelemetryError('dynamic resolver backends are not supported for telemetry');
      const tls = telemetryBackendTLS(t, b);
      if (tls.error) throw new TelemetryError(tls.error);
      if (tls.tls) ds.tls = tls.tls;
      settings.push(ds);
    } else {
      throw new TelemetryError(`unsupported kind for backendRefs: ${kind}`);
    }
  }
  return { settings, traffic };
}

/** The gRPC authority of a telemetry destination: SNI, else a host name, else the Service's name. */
function authorityOf(settings: DestinationSetting[]): string {
  const d = settings[0];
  if (!d) return '';
  if (d.tls?.sni) return d.tls.sni;
  const ep = d.endpoints?.[0];
  if (ep) {
    if (!isIPAddress(ep.host)) return ep.host ?? '';
    const md = d.metadata;
    if (md?.name) {
      if (md.namespace) return md.kind === 'Service' ? `${md.name}.${md.namespace}.svc` : `${md.name}.${md.namespace}`;
      return md.name;
    }
  }
  return '';
}

function hostPortSetting(name: string, host: string, port: number): DestinationSetting[] {
  return [{ name, weight: 1, protocol: 'GRPC', addressType: isIPAddress(host) ? 'IP' : 'FQDN', endpoints: [endpoint(host, port)] }];
}

function mapToSlice(m: Record<string, string> | undefined): ir.MapEntry[] | undefined {
  if (!m || !Object.keys(m).length) return undefined;
  return Object.keys(m)
    .sort()
    .map((key) => ({ key, value: m[key]! }));
}

/** A light syntax check of CEL expressions: balanced brackets and quotes, no dangling operators. */
function validCEL(expr: string): boolean {
  if (!expr.trim()) return false;
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[' || c === '{') stack.push(c);
    else if (c in pairs) {
      if (stack.pop() !== pairs[c]) return false;
    }
  }
  if (quote || stack.length) return false;
  return !/(\&\&|\|\||==|!=|[<>+\-*/%])\s*$/.test(expr.trim()) && !/^\s*(\&\&|\|\||==|!=)/.test(expr);
}
