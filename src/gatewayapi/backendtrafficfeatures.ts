// The IR traffic features of a BackendTrafficPolicy: its cluster settings plus rate limits,
// bandwidth limits, fault injection, admission control, response overrides, compression,
// protocol upgrades, request buffering and backend telemetry. Every feature is built even when
// another is invalid; the problems come back with them.
import type { BackendTrafficPolicySpec, RateLimitRule, RateLimitSpec } from '../api/envoygateway/index.js';
import type { KubernetesObject } from '../api/meta.js';
import type * as ir from '../ir/xds.js';
import {
  backendConnection, circuitBreaker, clusterTimeout, defined, dns, goDuration, healthCheck, http2, loadBalancer, proxyProtocol, retry,
  SettingError, tcpKeepalive,
} from './clustersettings.js';
import { validRegex } from './filters.js';
import { maxUint32, wholeQuantity } from './quantity.js';
import type { Translation } from './translation.js';

type Spec = Partial<BackendTrafficPolicySpec>;

/** The traffic features of a spec, with the problems found building them. */
export interface BuiltTraffic {
  features: ir.TrafficFeatures;
  errors: string[];
}

/**
 * Builds the features of a policy spec. References resolve in the policy's namespace, except a
 * response override's, which resolve in `responseOverrideNs` (for a merged spec, the namespace of
 * the policy that gave the field).
 */
export function buildTrafficFeatures(t: Translation, policy: KubernetesObject, spec: Spec, responseOverrideNs?: string): BuiltTraffic {
  const errors: string[] = [];
  const f: ir.TrafficFeatures = {};
  const ns: string = policy.metadata?.namespace ?? '';
  const name: string = policy.metadata?.name ?? '';
  const build = <K extends keyof ir.TrafficFeatures>(field: K, what: string, make: () => ir.TrafficFeatures[K] | undefined) => {
    try {
      const v = make();
      if (v !== undefined) f[field] = v;
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      errors.push(`${what}: ${e.message}`);
    }
  };
  const check = (what: string, f: () => void) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      errors.push(`${what}: ${e.message}`);
    }
  };
  if (spec.rateLimit) build('rateLimit', 'RateLimit', () => rateLimit(t, ns, name, spec.rateLimit!));
  if (spec.bandwidthLimit) build('bandwidthLimit', 'BandwidthLimit', () => bandwidthLimit(spec.bandwidthLimit!));
  build('loadBalancer', 'LoadBalancer', () => loadBalancer(spec.loadBalancer));
  build('proxyProtocol', 'ProxyProtocol', () => proxyProtocol(spec.proxyProtocol));
  build('healthCheck', 'HealthCheck', () => healthCheck(spec.healthCheck));
  build('circuitBreaker', 'CircuitBreaker', () => circuitBreaker(spec.circuitBreaker));
  if (spec.faultInjection) build('faultInjection', 'FaultInjection', () => faultInjection(spec.faultInjection!));
  if (spec.admissionControl) build('admissionControl', 'AdmissionControl', () => admissionControl(spec.admissionControl as AdmissionControlSpec));
  build('tcpKeepalive', 'TCPKeepalive', () => tcpKeepalive(spec.tcpKeepalive));
  build('retry', 'Retry', () => retry(spec.retry));
  build('timeout', 'Timeout', () => clusterTimeout(spec.timeout));
  build('backendConnection', 'BackendConnection', () => backendConnection(spec.connection));
  build('http2', 'HTTP2', () => http2(spec.http2));
  if (spec.responseOverride?.length) build('responseOverride', 'ResponseOverride', () => responseOverride(t, ns, name, spec.responseOverride!, responseOverrideNs ?? ns));
  if (spec.requestBuffer) build('requestBuffer', 'RequestBuffer', () => requestBuffer(spec.requestBuffer!));
  const statName = spec.telemetry?.metrics?.routeStatName;
  if (statName !== undefined) check('Telemetry', () => validateRouteStatName(statName));
  const compression = compressors(spec.compression, spec.compressor);
  if (compression) f.compression = compression;
  if (spec.httpUpgrade?.length) {
    f.httpUpgrade = spec.httpUpgrade.map((u) => defined({ type: u.type, connect: u.connect ? { terminate: !!u.connect.terminate } : undefined }));
    if (f.requestBuffer) errors.push('RequestBuffer: requestBuffer cannot be used together with httpUpgrade');
  }
  build('dns', 'DNS', () => dns(spec.dns, `${ns}/${name}`));
  if (spec.telemetry) {
    const tel = backendTelemetry(spec.telemetry);
    if (tel) f.telemetry = tel;
  }
  return { features: f, errors };
}

// ---- rate limits ------------------------------------------------------------------------------

const unitSeconds: Record<string, number> = { Second: 1, Minute: 60, Hour: 3600, Day: 86400, Month: 2592000, Year: 31536000 };

function rateLimit(t: Translation, ns: string, name: string, rl: RateLimitSpec): ir.RateLimit {
  if (rl.type === 'Global') return { global: globalRateLimit(t, ns, name, rl.global) };
  if (rl.type === 'Local') return { local: localRateLimit(ns, name, rl.local) };
  if (rl.type) throw new SettingError(`invalid rateLimit type: ${rl.type}`);
  const out: ir.RateLimit = {};
  if (rl.local) out.local = localRateLimit(ns, name, rl.local);
  if (rl.global) out.global = globalRateLimit(t, ns, name, rl.global);
  return out;
}

function globalRateLimit(t: Translation, ns: string, name: string, g: RateLimitSpec['global']): NonNullable<ir.RateLimit['global']> {
  if (!g) throw new SettingError('global configuration empty for rateLimit');
  if (!t.settings.globalRateLimitEnabled) throw new SettingError('enable Ratelimit in the EnvoyGateway config to configure global rateLimit');
  return { rules: (g.rules ?? []).map((r, i) => ({ ...rateLimitRule(r), name: `${ns}/${name}/rule/${i}` })) };
}

function localRateLimit(ns: string, name: string, l: RateLimitSpec['local']): NonNullable<ir.RateLimit['local']> {
  if (!l) throw new SettingError('local configuration empty for rateLimit');
  const rules = l.rules ?? [];
  let def: ir.RateLimitValue | undefined;
  for (const r of rules) {
    if (r.clientSelectors?.length) continue;
    if (def) throw new SettingError('local rateLimit can not have more than one rule without clientSelectors');
    def = { requests: r.limit?.requests, unit: r.limit?.unit };
  }
  def ??= { requests: maxUint32, unit: 'Second' };
  const defUnit = unitSeconds[def.unit ?? ''] ?? 0;
  for (const r of rules) {
    const u = unitSeconds[r.limit?.unit ?? ''] ?? 0;
    if (defUnit === 0 || u % defUnit !== 0) throw new SettingError('local rateLimit rule limit unit must be a multiple of the default limit unit');
  }
  const out: ir.RateLimitRule[] = [];
  rules.forEach((r, i) => {
    if (!r.clientSelectors?.length) return;
    out.push({ ...rateLimitRule(r), name: `${ns}/${name}/rule/${i}` });
  });
  return { default: def, rules: out };
}

function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

function rateLimitRule(rule: RateLimitRule): ir.RateLimitRule & { headerMatches: ir.StringMatch[]; methodMatches: ir.StringMatch[] } {
  const limit: ir.RateLimitValue = defined({ requests: rule.limit?.requests ?? undefined, unit: rule.limit?.unit ?? undefined });
  if (rule.limit?.fromMetadata) limit.fromMetadata = { namespace: rule.limit.fromMetadata.namespace, key: rule.limit.fromMetadata.key };
  const out: ir.RateLimitRule & { headerMatches: ir.StringMatch[]; methodMatches: ir.StringMatch[] } = { limit, headerMatches: [], methodMatches: [] };
  if (rule.shared !== undefined && rule.shared !== null) out.shared = rule.shared;
  if (rule.shadowMode !== undefined && rule.shadowMode !== null) out.shadowMode = rule.shadowMode;
  if (rule.xRateLimitHeaders) out.xRateLimitOption = rule.xRateLimitHeaders;
  for (const sel of rule.clientSelectors ?? []) {
    if (!sel.headers?.length && !sel.methods?.length && !sel.path && !sel.sourceCIDR && !sel.queryParams?.length) {
      throw new SettingError('unable to translate rateLimit. At least one of the header or method or path or sourceCIDR or queryParameters must be specified');
    }
    for (const h of sel.headers ?? []) {
      const type = h.type ?? 'Exact';
      const hasValue = h.value !== undefined && h.value !== null;
      if (type === 'Exact' && hasValue) out.headerMatches.push(defined({ name: h.name, exact: h.value, invert: h.invert || undefined }));
      else if (type === 'RegularExpression' && hasValue) {
        if (!validRegex(h.value!)) throw new SettingError(`invalid regex ${h.value}`);
        out.headerMatches.push(defined({ name: h.name, safeRegex: h.value, invert: h.invert || undefined }));
      } else if (type === 'Distinct' && !hasValue) {
        if (h.invert) throw new SettingError('unable to translate rateLimit.Invert is not applicable for distinct header match type');
        out.headerMatches.push({ name: h.name, distinct: true });
      } else throw new SettingError('unable to translate rateLimit. Either the header.Type is not valid or the header is missing a value');
    }
    for (const m of sel.methods ?? []) out.methodMatches.push(defined({ exact: m.value, invert: m.invert || undefined }));
    if (sel.path) {
      const p = sel.path;
      const v: string = p.value ?? '/';
      const invert = p.invert || undefined;
      switch (p.type ?? 'PathPrefix') {
        case 'PathPrefix':
          out.pathMatch = v === '/' ? defined({ prefix: v, invert }) : defined({ safeRegex: `^${quoteMeta(v.replace(/\/+$/, ''))}(/.*|\\?.*|#.*|;.*|$)`, invert });
          break;
        case 'Exact':
          out.pathMatch = defined({ exact: v, invert });
          break;
        case 'RegularExpression':
          if (!validRegex(v)) throw new SettingError(`invalid regex ${v}`);
          out.pathMatch = defined({ safeRegex: v, invert });
          break;
        default:
          throw new SettingError('unable to translate rateLimit: invalid path type.');
      }
    }
    if (sel.sourceCIDR) {
      const m = /^(.+)\/(\d+)$/.exec(sel.sourceCIDR.value ?? '');
      if (!m) throw new SettingError(`unable to translate rateLimit: invalid CIDR ${sel.sourceCIDR.value}`);
      const isIPv6 = m[1]!.includes(':');
      out.cidrMatch = {
        cidr: sel.sourceCIDR.value!,
        isIPv6,
        maskLen: Number(m[2]),
        distinct: sel.sourceCIDR.type === 'Distinct',
        invert: !!sel.sourceCIDR.invert,
      };
    }
    for (const q of sel.queryParams ?? []) {
      const type = q.type ?? 'Exact';
      if (!q.name) throw new SettingError('name is required when QueryParamMatch is specified');
      if (type === 'Distinct') {
        if (q.invert) throw new SettingError('unable to translate rateLimit.Invert is not applicable for distinct query parameter match type');
        if (q.value !== undefined && q.value !== null) throw new SettingError('unable to translate rateLimit.Value is not applicable for distinct query parameter match type');
        (out.queryParamMatches ??= []).push({ name: q.name, distinct: true });
      } else {
        if (!q.value) throw new SettingError(`value is required for ${type} query parameter match`);
        if (type === 'RegularExpression' && !validRegex(q.value)) throw new SettingError(`invalid regex ${q.value}`);
        const match: ir.StringMatch = type === 'Exact' ? { name: q.name, exact: q.value } : { name: q.name, safeRegex: q.value };
        if (q.invert) match.invert = true;
        (out.queryParamMatches ??= []).push(match);
      }
    }
  }
  const cost = (c: NonNullable<RateLimitRule['cost']>['request']): ir.RateLimitCost | undefined => {
    if (!c) return undefined;
    const o: ir.RateLimitCost = {};
    if (c.number !== undefined && c.number !== null) o.number = c.number;
    if (c.metadata) o.format = `%DYNAMIC_METADATA(${c.metadata.namespace}:${c.metadata.key})%`;
    return o;
  };
  if (rule.cost?.request) out.requestCost = cost(rule.cost.request);
  if (rule.cost?.response) out.responseCost = cost(rule.cost.response);
  return out;
}

// ---- the rest ---------------------------------------------------------------------------------

type Spec2<K extends keyof BackendTrafficPolicySpec> = NonNullable<BackendTrafficPolicySpec[K]>;

function bandwidthLimit(b: Spec2<'bandwidthLimit'>): ir.BandwidthLimit {
  const kibps = (limit: { value?: unknown; unit?: string } | undefined, what: string) => {
    const bytes = wholeQuantity(limit?.value);
    if (bytes === undefined) throw new SettingError(`${what} limit value must be convertible to an int64`);
    if (bytes < 0) throw new SettingError(`${what} limit value must be positive`);
    const per = limit?.unit === 'Hour' ? 3600 : limit?.unit === 'Minute' ? 60 : 1;
    const k = Math.floor(bytes / (per * 1024));
    if (k === 0) throw new SettingError(`${what}: bandwidth limit of ${bytes} bytes per ${limit?.unit ?? 'Second'} is below the minimum of 1 KiB/s`);
    return k;
  };
  const out: ir.BandwidthLimit = {};
  if (b.request) out.request = { limitKibps: kibps(b.request.limit, 'request') };
  if (b.response) {
    out.response = { limitKibps: kibps(b.response.limit, 'response') };
    if (b.response.responseTrailers) out.response.responseTrailers = defined({ prefix: b.response.responseTrailers.prefix ?? undefined });
  }
  return out;
}

function faultInjection(fi: Spec2<'faultInjection'>): ir.FaultInjection {
  const out: ir.FaultInjection = {};
  if (fi.delay) out.delay = defined({ percentage: fi.delay.percentage ?? undefined, fixedDelay: goDuration(fi.delay.fixedDelay ?? '0s', 'FixedDelay')! });
  if (fi.abort) out.abort = defined({ percentage: fi.abort.percentage ?? undefined, grpcStatus: fi.abort.grpcStatus ?? undefined, httpStatus: fi.abort.httpStatus ?? undefined });
  return out;
}

/** Admission control as written; the API schema passes its fields through unchecked. */
interface AdmissionControlSpec {
  samplingWindow?: string;
  successRateThreshold?: number;
  minSuccessRate?: number;
  rejectionAggression?: number;
  minRequestRate?: number;
  maxRejectionPercent?: number;
  successCriteria?: { http?: { statusCodes?: number[] }; grpc?: { statusCodes?: (string | number)[] } };
}

function admissionControl(ac: AdmissionControlSpec): ir.AdmissionControl {
  const out: ir.AdmissionControl = defined({
    minSuccessRate: ac.minSuccessRate ?? undefined,
    rejectionAggression: ac.rejectionAggression ?? undefined,
    minRequestRate: ac.minRequestRate ?? undefined,
    maxRejectionPercent: ac.maxRejectionPercent ?? undefined,
  });
  try {
    const w = goDuration(ac.samplingWindow, 'SamplingWindow');
    if (w) out.samplingWindow = w;
  } catch {
    // An unreadable window is left to its default.
  }
  if (ac.successCriteria) {
    const sc: NonNullable<ir.AdmissionControl['successCriteria']> = {};
    if (ac.successCriteria.http) sc.http = { statusCodes: [...(ac.successCriteria.http.statusCodes ?? [])] };
    if (ac.successCriteria.grpc) sc.grpc = { statusCodes: (ac.successCriteria.grpc.statusCodes ?? []).map(String) };
    out.successCriteria = sc;
  }
  return out;
}

function requestBuffer(rb: Spec2<'requestBuffer'>): ir.RequestBuffer {
  const n = wholeQuantity(rb.limit);
  if (n === undefined) throw new SettingError('limit must be convertible to an int64');
  if (n < 0 || n > maxUint32) throw new SettingError(`limit value ${rb.limit} is out of range, must be between 0 and ${maxUint32}`);
  return { limit: String(rb.limit) };
}

type Compressor = Spec2<'compressor'>[number];

function compressors(compression: readonly Compressor[] | undefined, compressor: readonly Compressor[] | undefined): ir.Compression[] | undefined {
  const minLength = (c: Compressor) => {
    const n = wholeQuantity(c.minContentLength);
    return n === undefined ? undefined : n;
  };
  if (compressor?.length) {
    const out: ir.Compression[] = [];
    compressor.forEach((c, i) => {
      const configured = (c.type === 'Gzip' && c.gzip) || (c.type === 'Brotli' && c.brotli) || (c.type === 'Zstd' && c.zstd);
      if (!configured) return;
      out.push(defined({ type: c.type, chooseFirst: i === 0 || undefined, minContentLength: c.minContentLength !== undefined ? minLength(c) : undefined }));
    });
    return out;
  }
  if (!compression) return undefined;
  return compression.map((c, i) => defined({ type: c.type, chooseFirst: i === 0 || undefined, minContentLength: c.minContentLength !== undefined ? minLength(c) : undefined }));
}

function responseOverride(t: Translation, ns: string, name: string, overrides: Spec2<'responseOverride'>, refNs: string): ir.ResponseOverride {
  const base = `backendtrafficpolicy/${ns}/${name}`;
  const rules = overrides.map((ro, i) => {
    const match: ir.ResponseOverrideRule['match'] = {
      statusCodes: (ro.match?.statusCodes ?? []).map((c) => (c.type === 'Range' ? { range: { start: c.range?.start ?? 0, end: c.range?.end ?? 0 } } : { value: c.value })),
    };
    if (ro.match?.responseHeaders?.length) {
      match.responseHeaders = ro.match.responseHeaders.map((h) => {
        const type = h.value?.type ?? 'Exact';
        const key = type === 'Prefix' ? 'prefix' : type === 'Suffix' ? 'suffix' : type === 'RegularExpression' ? 'safeRegex' : 'exact';
        return { name: h.name, [key]: h.value?.value };
      });
    }
    const rule: ir.ResponseOverrideRule = { name: `${base}/responseoverride/rule/${i}`, match };
    if (ro.redirect) {
      const r = ro.redirect;
      const red: ir.HTTPRedirect = defined({ scheme: r.scheme ?? undefined, hostname: r.hostname ?? undefined, port: r.port ?? undefined, statusCode: r.statusCode ?? undefined });
      if (r.path) red.path = defined({ fullReplace: r.path.replaceFullPath ?? undefined, prefixMatchReplace: r.path.replacePrefixMatch ?? undefined });
      rule.redirect = red;
    } else {
      const resp: NonNullable<typeof ro.response> = ro.response ?? {};
      const out: NonNullable<ir.ResponseOverrideRule['response']> = {};
      if (resp.contentType !== undefined) out.contentType = resp.contentType;
      if (resp.statusCode !== undefined && resp.statusCode !== null) out.statusCode = resp.statusCode;
      const body = responseBody(t, resp.body, refNs);
      if (body !== undefined) out.body = Buffer.from(body, 'utf8').toString('base64');
      const hm = resp.header;
      if (hm) {
        const add: ir.AddHeader[] = [];
        for (const h of hm.add ?? []) add.push({ name: h.name, append: true, value: [h.value] });
        for (const h of hm.set ?? []) add.push({ name: h.name, append: false, value: [h.value] });
        if (add.length) out.addResponseHeaders = add;
      }
      rule.response = out;
    }
    if (ro.source) rule.source = ro.source;
    return rule;
  });
  return { name: base, rules };
}

type ResponseBody = NonNullable<Spec2<'responseOverride'>[number]['response']>['body'];

function responseBody(t: Translation, body: ResponseBody, ns: string): string | undefined {
  if (!body) return undefined;
  if (body.type === 'ValueRef') {
    const cm = t.lookups.configMap(ns, body.valueRef?.name ?? '');
    if (!cm) throw new SettingError(`can't find the referenced configmap ${ns}/${body.valueRef?.name}`);
    const data: Record<string, string> = cm.data ?? {};
    if (data['response.body'] !== undefined) return data['response.body'];
    const keys = Object.keys(data);
    if (keys.length) return data[keys[0]!];
    const bin: Record<string, string> = cm.binaryData ?? {};
    const bkeys = Object.keys(bin);
    if (bkeys.length) return Buffer.from(bin[bkeys[0]!]!, 'base64').toString('utf8');
    throw new SettingError(`can't find the key response.body in the referenced configmap ${ns}/${body.valueRef?.name}`);
  }
  return body.inline ?? undefined;
}

const statFormatters = ['%ROUTE_NAME%', '%ROUTE_NAMESPACE%', '%ROUTE_KIND%', '%ROUTE_RULE_NAME%'];

function validateRouteStatName(name: string): void {
  // Only the known formatters may appear between percent signs.
  const found = name.match(/%[^%]*%/g) ?? [];
  for (const f of found) if (!statFormatters.includes(f)) throw new SettingError(`unable to configure Route Stat Name with unsupported formatter ${f}`);
}

/** The stat name of a route from a template with %ROUTE_NAME%, %ROUTE_NAMESPACE%, %ROUTE_KIND%, %ROUTE_RULE_NAME%. */
export function routeStatName(template: string | undefined, md: ir.ResourceMetadata | undefined): string | undefined {
  if (!template || !md) return undefined;
  return template
    .replaceAll('%ROUTE_NAME%', md.name ?? '')
    .replaceAll('%ROUTE_NAMESPACE%', md.namespace ?? '')
    .replaceAll('%ROUTE_KIND%', md.kind ?? '')
    .replaceAll('%ROUTE_RULE_NAME%', md.sectionName ? md.sectionName : '-');
}

function backendTelemetry(tel: Spec2<'telemetry'>): ir.BackendTelemetry | undefined {
  if (!tel.tracing) return {};
  const tr = tel.tracing;
  const out: ir.RouteTracing = {};
  if (tr.samplingFraction) out.samplingFraction = { ...tr.samplingFraction };
  if (tr.clientSamplingFraction) out.clientSamplingFraction = { ...tr.clientSamplingFraction };
  if (tr.overallSamplingFraction) out.overallSamplingFraction = { ...tr.overallSamplingFraction };
  if (tr.spanName) out.spanName = { ...tr.spanName };
  return { tracing: out };
}
