// Proxy telemetry from the EnvoyProxy: access logs, tracing and metrics sinks, with the backends
// they send to resolved like route backends. A backend that does not resolve rejects the Gateway.
import type { AnyObject } from '../resources/resources.js';
import type { GatewayContext } from './contexts.js';
import { backendDestination, resourceMetadata, serviceDestination, endpoint, type DestinationSetting } from './destinations.js';
import { targetedByBackendTLSPolicy, validateBackend } from './backends.js';
import { Reason } from './status.js';
import { SettingsError, trafficFeatures } from './traffic.js';
import { telemetryBackendTLS } from './backendtls.js';
import type { InfraIR, Translation, XdsIR } from './translation.js';
import { isIPAddress } from './backends.js';

class TelemetryError extends Error {}

export function processProxyObservability(t: Translation, g: GatewayContext, xds: XdsIR, infra: InfraIR): void {
  const ep = infra.proxy.config as AnyObject | undefined;
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
  if (!(e instanceof TelemetryError) && !(e instanceof SettingsError)) throw e;
  g.setCondition('Accepted', 'False', Reason.InvalidParameters, `Invalid ${what} backendRefs in the referenced EnvoyProxy: ${(e as Error).message}`);
}

function accessLog(t: Translation, ep: AnyObject | undefined): Record<string, any> | undefined {
  const al = ep?.spec?.telemetry?.accessLog;
  if (!al || (!al.disable && !(al.settings ?? []).length)) return { json: [{ path: '/dev/stdout' }] };
  if (al.disable) return undefined;
  const out: Record<string, any> = {};
  (al.settings ?? []).forEach((s: any, i: number) => {
    const logType = s.type === 'Route' || s.type === 'Listener' ? s.type : undefined;
    const format = s.format ?? { type: 'JSON' };
    const celMatches: string[] = [];
    for (const expr of s.matches ?? []) {
      if (!validCEL(expr)) throw new TelemetryError(`invalid CEL expression: ${expr}`);
      celMatches.push(expr);
    }
    const common = (o: Record<string, any>) => {
      if (celMatches.length) o.celMatches = celMatches;
      if (logType) o.logType = logType;
      return o;
    };
    const jsonAttrs = mapToSlice(format.json);
    if (!(s.sinks ?? []).length) {
      (out.json ??= []).push(common({ ...(jsonAttrs ? { json: jsonAttrs } : {}), path: '/dev/stdout' }));
    }
    (s.sinks ?? []).forEach((sink: any, j: number) => {
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
          const a: Record<string, any> = {
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
          const a: Record<string, any> = {
            destination: { name: destName, settings, metadata: resourceMetadata(ep!, undefined, 'EnvoyProxy') },
          };
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

function tracing(t: Translation, g: GatewayContext, ep: AnyObject | undefined): Record<string, any> | undefined {
  const tr = ep?.spec?.telemetry?.tracing;
  if (!tr) return undefined;
  const provider = tr.provider ?? {};
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
  const out: Record<string, any> = {
    serviceName,
    samplingRate: samplingRate(tr),
    destination: { name: 'tracing', settings, metadata: resourceMetadata(ep!, undefined, 'EnvoyProxy') },
    provider,
  };
  if (authority) out.authority = authority;
  if (tr.clientSamplingFraction) out.clientSamplingRate = fractionRate(tr.clientSamplingFraction);
  if (tr.overallSamplingFraction) out.overallSamplingRate = fractionRate(tr.overallSamplingFraction);
  if (tr.customTags) out.customTags = customTags(tr.customTags);
  const tags = mapToSlice(tr.tags);
  if (tags) out.tags = tags;
  const ra = mapToSlice(provider.openTelemetry?.resourceAttributes);
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
function healthCheckLog(ep: AnyObject | undefined): Record<string, any> | undefined {
  const h = ep?.spec?.telemetry?.healthCheckLog;
  if (!h) return undefined;
  const matches: string[] = h.matches ?? [];
  const out: Record<string, any> = {};
  if (!matches.length || matches.includes('Failure')) out.alwaysLogHealthCheckFailures = true;
  if (!matches.length || matches.includes('Success')) out.alwaysLogHealthCheckSuccess = true;
  const files = (h.sinks ?? []).filter((s: any) => s.type === 'File' && s.file?.path).map((s: any) => ({ path: s.file.path }));
  out.fileSinks = files.length ? files : [{ path: '/dev/stdout' }];
  return out;
}

function customTags(tags: Record<string, any>): { key: string; value: any }[] {
  return Object.keys(tags)
    .sort()
    .map((key) => ({ key, value: tags[key] }));
}

function samplingRate(tr: any): number {
  if (tr.samplingRate != null) return tr.samplingRate;
  if (tr.samplingFraction) return fractionRate(tr.samplingFraction);
  return 100;
}

/** A fraction as a percentage in [0, 100]. */
function fractionRate(f: any): number {
  const rate = (f.numerator * 100) / (f.denominator ?? 100);
  return Math.min(100, Math.max(0, rate));
}

function metrics(t: Translation, ep: AnyObject | undefined): { metrics: Record<string, any>; sinks: Record<string, any>[] } | undefined {
  const m = ep?.spec?.telemetry?.metrics;
  if (!m) return undefined;
  const sinks: Record<string, any>[] = [];
  const seen = new Set<string>();
  (m.sinks ?? []).forEach((sink: any, i: number) => {
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
    const s: Record<string, any> = { destination: { name: destName, settings, metadata: resourceMetadata(ep!, undefined, 'EnvoyProxy') } };
    if (authority) s.authority = authority;
    if (o.headers) s.headers = o.headers;
    if (o.resourceAttributes) s.resourceAttributes = o.resourceAttributes;
    if (o.reportCountersAsDeltas) s.reportCountersAsDeltas = true;
    if (o.reportHistogramsAsDeltas) s.reportHistogramsAsDeltas = true;
    sinks.push(s);
  });
  const metricsIR: Record<string, any> = {};
  if (m.enableVirtualHostStats) metricsIR.enableVirtualHostStats = true;
  if (m.enablePerEndpointStats) metricsIR.enablePerEndpointStats = true;
  if (m.enableRequestResponseSizesStats) metricsIR.enableRequestResponseSizesStats = true;
  return { metrics: metricsIR, sinks };
}

/** Destination settings of a telemetry sink's backendRefs (Services or Backends). */
function telemetryBackends(t: Translation, name: string, cluster: any, ep: AnyObject): { settings: DestinationSetting[]; traffic?: Record<string, any> } {
  const traffic = trafficFeatures(cluster.backendSettings);
  const settings: DestinationSetting[] = [];
  const epNamespace = ep.metadata.namespace ?? '';
  for (const ref of cluster.backendRefs ?? []) {
    const ns = ref.namespace || epNamespace;
    const kind = ref.kind || 'Service';
    if (kind === 'Service') {
      const svc = t.lookups.service(ns, ref.name);
      if (!svc) throw new TelemetryError(`service ${ns}/${ref.name} not found`);
      if (ref.port == null) throw new TelemetryError('a port is required for a Service backendRef');
      if (!(svc.spec?.ports ?? []).some((p: any) => p.port === ref.port && (p.protocol || 'TCP') === 'TCP')) {
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
      const ds = backendDestination(t, name, b, 'TCP');
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

function mapToSlice(m: Record<string, string> | undefined): { key: string; value: string }[] | undefined {
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
