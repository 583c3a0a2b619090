// Cluster settings (the backend side of a BackendTrafficPolicy, and of extension backends):
// load balancing, health checks, circuit breakers, timeouts, keepalive, connection buffers,
// DNS, HTTP/2 and retries, each in the IR's form. A builder throws SettingError on bad input.
import type { ClusterSettings } from '../api/envoygateway/index.js';
import type * as ir from '../ir/xds.js';
import { formatDuration, parseDuration } from './duration.js';
import { maxUint32, wholeQuantity } from './quantity.js';

type CS = ClusterSettings;

export class SettingError extends Error {}

export function goDuration(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const d = parseDuration(v);
  if (d === undefined) throw new SettingError(`invalid ${what} value ${String(v)}`);
  return formatDuration(d);
}

/** Drops the keys whose value is undefined. */
export function defined<T extends object>(o: T): T {
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
  return o;
}

const set = (v: unknown) => v !== undefined && v !== null;

const maxTableSize = 5000011;

function isPrime(n: number): boolean {
  if (n < 2 || !Number.isInteger(n)) return false;
  if (n % 2 === 0) return n === 2;
  for (let i = 3; i * i <= n; i += 2) if (n % i === 0) return false;
  return true;
}

export function loadBalancer(lb: CS['loadBalancer']): ir.LoadBalancer | undefined {
  if (!lb) return undefined;
  const out: ir.LoadBalancer = {};
  const slowStart = lb.slowStart?.window ? { window: goDuration(lb.slowStart.window, 'SlowStart window')! } : undefined;
  switch (lb.type) {
    case 'ConsistentHash': {
      const c: Partial<NonNullable<typeof lb.consistentHash>> = lb.consistentHash ?? {};
      const ch: ir.ConsistentHash = {};
      if (set(c.tableSize)) {
        if (c.tableSize > maxTableSize || !isPrime(c.tableSize)) throw new SettingError(`ConsistentHash: invalid TableSize value ${c.tableSize}`);
        ch.tableSize = c.tableSize;
      }
      switch (c.type) {
        case 'SourceIP':
          ch.sourceIP = true;
          break;
        case 'Header':
          ch.headers = [{ name: c.header?.name ?? '' }];
          break;
        case 'Headers':
          ch.headers = (c.headers ?? []).map((h) => ({ name: h.name }));
          break;
        case 'Cookie':
          ch.cookie = defined({ name: c.cookie?.name ?? '', ttl: goDuration(c.cookie?.ttl, 'Cookie TTL'), attributes: c.cookie?.attributes });
          break;
        case 'QueryParams':
          ch.queryParams = (c.queryParams ?? []).map((q) => ({ name: q.name }));
          break;
      }
      out.consistentHash = ch;
      break;
    }
    case 'LeastRequest':
      out.leastRequest = slowStart ? { slowStart } : {};
      break;
    case 'Random':
      out.random = {};
      break;
    case 'RoundRobin':
      out.roundRobin = slowStart ? { slowStart } : {};
      break;
    case 'BackendUtilization': {
      const b: NonNullable<typeof lb.backendUtilization> = lb.backendUtilization ?? {};
      const bu: ir.BackendUtilization = defined({
        blackoutPeriod: goDuration(b.blackoutPeriod, 'BlackoutPeriod'),
        weightExpirationPeriod: goDuration(b.weightExpirationPeriod, 'WeightExpirationPeriod'),
        weightUpdatePeriod: goDuration(b.weightUpdatePeriod, 'WeightUpdatePeriod'),
        errorUtilizationPenaltyPercent: b.errorUtilizationPenaltyPercent ?? undefined,
        metricNamesForComputingUtilization: b.metricNamesForComputingUtilization ?? undefined,
        keepResponseHeaders: !!b.keepResponseHeaders,
      });
      if (b.outOfBand) {
        bu.outOfBand = defined({ authority: b.outOfBand.authority ?? undefined, port: b.outOfBand.port ?? undefined, reportingPeriod: goDuration(b.outOfBand.reportingPeriod, 'ReportingPeriod') });
      }
      if (slowStart) bu.slowStart = slowStart;
      out.backendUtilization = bu;
      break;
    }
  }
  const za = lb.zoneAware;
  if (za?.preferLocal) {
    const p = za.preferLocal;
    out.preferLocal = defined({
      minEndpointsThreshold: p.minEndpointsThreshold ?? undefined,
      percentageEnabled: p.percentageEnabled ?? undefined,
      force: p.force ? defined({ minEndpointsInZoneThreshold: p.force.minEndpointsInZoneThreshold ?? undefined }) : undefined,
    });
  }
  if (za?.weightedZones?.length) out.weightedZones = za.weightedZones.map((z) => ({ zone: z.zone, weight: z.weight }));
  if (lb.endpointOverride) out.endpointOverride = { extractFrom: (lb.endpointOverride.extractFrom ?? []).map((e) => defined({ header: e.header ?? undefined })) };
  return out;
}

export function proxyProtocol(pp: CS['proxyProtocol']): ir.UpstreamProxyProtocol | undefined {
  if (!pp || (pp.version !== 'V1' && pp.version !== 'V2')) return undefined;
  return { version: pp.version };
}

type Payload = NonNullable<NonNullable<NonNullable<CS['healthCheck']>['active']>['tcp']>['send'];

function payload(p: Payload): ir.HealthCheckPayload | undefined {
  if (!p) return undefined;
  if (p.type === 'Text') return { text: p.text ?? '' };
  if (p.type === 'Binary') return { binary: p.binary ?? '' };
  return {};
}

export function healthCheck(hc: CS['healthCheck']): ir.HealthCheck | undefined {
  if (!hc) return undefined;
  const out: ir.HealthCheck = {};
  const p = hc.passive;
  if (p) {
    out.passive = defined({
      splitExternalLocalOriginErrors: p.splitExternalLocalOriginErrors ?? undefined,
      interval: goDuration(p.interval, 'Interval'),
      consecutiveLocalOriginFailures: p.consecutiveLocalOriginFailures ?? undefined,
      consecutiveGatewayErrors: p.consecutiveGatewayErrors ?? undefined,
      consecutive5XxErrors: p.consecutive5XxErrors ?? undefined,
      baseEjectionTime: goDuration(p.baseEjectionTime, 'BaseEjectionTime'),
      maxEjectionPercent: p.maxEjectionPercent ?? undefined,
      failurePercentageThreshold: p.failurePercentageThreshold ?? undefined,
    });
  }
  const a = hc.active;
  if (a) {
    const act: ir.ActiveHealthCheck = defined({
      timeout: goDuration(a.timeout, 'Timeout'),
      interval: goDuration(a.interval, 'Interval'),
      initialJitter: goDuration(a.initialJitter, 'InitialJitter'),
      unhealthyThreshold: a.unhealthyThreshold ?? undefined,
      healthyThreshold: a.healthyThreshold ?? undefined,
    });
    switch (a.type) {
      case 'HTTP': {
        const h: Partial<NonNullable<typeof a.http>> = a.http ?? {};
        const statuses = [...new Set<number>((h.expectedStatuses ?? []).map(Number))].sort((x, y) => x - y);
        act.http = defined({
          host: h.hostname ?? '',
          path: h.path!,
          method: h.method ? String(h.method).toUpperCase() : undefined,
          expectedStatuses: statuses.length ? statuses : [200],
          retriableStatuses: h.retriableStatuses?.length ? [...new Set<number>(h.retriableStatuses.map(Number))].sort((x, y) => x - y) : undefined,
          expectedResponse: payload(h.expectedResponse),
          requestBody: payload(h.requestBody),
        });
        break;
      }
      case 'TCP':
        act.tcp = defined({ send: payload(a.tcp?.send), receive: payload(a.tcp?.receive) });
        break;
      case 'GRPC':
        act.grpc = defined({ service: a.grpc?.service ?? undefined });
        break;
    }
    if (a.overrides) act.overrides = defined({ port: a.overrides.port ?? undefined });
    out.active = act;
  }
  if (set(hc.panicThreshold)) out.panicThreshold = hc.panicThreshold;
  return out;
}

function u32(v: unknown, what: string): number | undefined {
  if (!set(v)) return undefined;
  if (typeof v !== 'number' || v < 0 || v > maxUint32) throw new SettingError(`invalid ${what} value ${String(v)}`);
  return v;
}

export function circuitBreaker(c: CS['circuitBreaker']): ir.CircuitBreaker | undefined {
  if (!c) return undefined;
  const out: ir.CircuitBreaker = defined({
    maxConnections: u32(c.maxConnections, 'MaxConnections'),
    maxParallelRequests: u32(c.maxParallelRequests, 'MaxParallelRequests'),
    maxPendingRequests: u32(c.maxPendingRequests, 'MaxPendingRequests'),
    maxParallelRetries: u32(c.maxParallelRetries, 'MaxParallelRetries'),
    maxRequestsPerConnection: u32(c.maxRequestsPerConnection, 'MaxRequestsPerConnection'),
  });
  if (c.perEndpoint) out.perEndpoint = defined({ maxConnections: u32(c.perEndpoint.maxConnections, 'PerEndpoint MaxConnections') });
  if (c.retryBudget) {
    const pct = c.retryBudget.percent;
    out.retryBudget = defined({
      percent: pct ? (pct.numerator ?? 0) / (pct.denominator ?? 100) * 100 : undefined,
      minRetryConcurrency: c.retryBudget.minRetryConcurrency ?? undefined,
    });
  }
  return out;
}

export function clusterTimeout(to: CS['timeout']): ir.Timeout | undefined {
  if (!to) return undefined;
  const out: ir.Timeout = {};
  const errs: string[] = [];
  const d = (v: unknown, what: string) => {
    try {
      return goDuration(v, what);
    } catch (e) {
      errs.push((e as Error).message);
      return undefined;
    }
  };
  if (to.tcp && set(to.tcp.connectTimeout)) {
    const c = d(to.tcp.connectTimeout, 'ConnectTimeout');
    if (c) out.tcp = { connectTimeout: c };
  }
  if (to.http) {
    out.http = defined({
      connectionIdleTimeout: d(to.http.connectionIdleTimeout, 'ConnectionIdleTimeout'),
      maxConnectionDuration: d(to.http.maxConnectionDuration, 'MaxConnectionDuration'),
      requestTimeout: d(to.http.requestTimeout, 'RequestTimeout'),
      maxStreamDuration: d(to.http.maxStreamDuration, 'MaxStreamDuration'),
    });
  }
  if (errs.length) throw new SettingError(errs.join('\n'));
  return out;
}

export function tcpKeepalive(k: CS['tcpKeepalive']): ir.TCPKeepalive | undefined {
  if (!k) return undefined;
  const secs = (v: unknown, what: string) => {
    if (!set(v)) return undefined;
    const ms = parseDuration(v);
    if (ms === undefined) throw new SettingError(`invalid ${what} value ${String(v)}`);
    return Math.floor(ms / 1000);
  };
  return defined({ probes: k.probes ?? undefined, idleTime: secs(k.idleTime, 'IdleTime'), interval: secs(k.interval, 'Interval') });
}

export function backendConnection(c: CS['connection']): ir.BackendConnection | undefined {
  if (!c) return undefined;
  const out: ir.BackendConnection = {};
  if (set(c.bufferLimit)) {
    const n = wholeQuantity(c.bufferLimit);
    if (n === undefined) throw new SettingError(`invalid BufferLimit value ${c.bufferLimit}`);
    if (n < 0 || n > maxUint32) throw new SettingError(`BufferLimit value ${c.bufferLimit} is out of range`);
    out.bufferLimit = n;
  }
  if (set(c.socketBufferLimit)) {
    const n = wholeQuantity(c.socketBufferLimit);
    if (n === undefined || n < 0 || n > maxUint32) throw new SettingError(`invalid SocketBufferLimit value ${c.socketBufferLimit}`);
    out.socketBufferLimit = n;
  }
  if (c.preconnect) out.preconnect = defined({ perEndpointPercent: c.preconnect.perEndpointPercent ?? undefined, predictivePercent: c.preconnect.predictivePercent ?? undefined });
  return out;
}

export function dns(d: CS['dns'], name: string): ir.DNS | undefined {
  if (!d) return undefined;
  return defined({
    dnsRefreshRate: goDuration(d.dnsRefreshRate, 'DNSRefreshRate'),
    respectDnsTtl: d.respectDnsTtl ?? undefined,
    lookupFamily: d.lookupFamily ?? undefined,
    name,
  });
}

const minWindow = 65535;
const maxWindow = 2147483647;

/** HTTP/2 settings; the IR carries the two window sizes crosswise, as Envoy Gateway does. */
export function http2(h: CS['http2']): ir.HTTP2Settings | undefined {
  if (!h) return undefined;
  const out: ir.HTTP2Settings = {};
  const errs: string[] = [];
  const window = (v: unknown, what: string, field: 'initialConnectionWindowSize' | 'initialStreamWindowSize') => {
    if (!set(v)) return;
    const n = wholeQuantity(v);
    if (n === undefined) errs.push(`invalid ${what} value ${String(v)}`);
    else if (n < minWindow || n > maxWindow) errs.push(`${what} value ${String(v)} is out of range, must be between ${minWindow} and ${maxWindow}`);
    else out[field] = n;
  };
  window(h.initialStreamWindowSize, 'InitialStreamWindowSize', 'initialConnectionWindowSize');
  window(h.initialConnectionWindowSize, 'InitialConnectionWindowSize', 'initialStreamWindowSize');
  if (set(h.maxConcurrentStreams)) out.maxConcurrentStreams = h.maxConcurrentStreams;
  if (h.onInvalidMessage) out.resetStreamOnError = h.onInvalidMessage === 'TerminateStream';
  if (h.connectionKeepalive) {
    const k = h.connectionKeepalive;
    out.connectionKeepalive = defined({
      interval: goDuration(k.interval, 'Interval'),
      timeout: goDuration(k.timeout, 'Timeout'),
      intervalJitter: k.intervalJitter ?? undefined,
      idleInterval: goDuration(k.idleInterval, 'IdleInterval'),
    });
  }
  if (errs.length) throw new SettingError(errs.join('\n'));
  return out;
}

export function retry(r: CS['retry']): ir.Retry | undefined {
  if (!r) return undefined;
  const out: ir.Retry = {};
  if (set(r.numRetries)) out.numRetries = r.numRetries;
  if (set(r.numAttemptsPerPriority)) out.numAttemptsPerPriority = r.numAttemptsPerPriority;
  if (r.retryOn && (r.retryOn.httpStatusCodes || r.retryOn.triggers)) {
    const ro: NonNullable<ir.Retry['retryOn']> = {};
    if (r.retryOn.httpStatusCodes) ro.httpStatusCodes = [...new Set<number>(r.retryOn.httpStatusCodes.map(Number))].sort((a, b) => a - b);
    if (r.retryOn.triggers) ro.triggers = [...new Set<string>(r.retryOn.triggers)].sort();
    out.retryOn = ro;
  }
  const pr = r.perRetry;
  if (pr) {
    const p: NonNullable<ir.Retry['perRetry']> = {};
    if (set(pr.timeout)) p.timeout = goDuration(pr.timeout, 'Timeout');
    const bo = pr.backOff;
    if (bo && (set(bo.baseInterval) || set(bo.maxInterval))) {
      const base = set(bo.baseInterval) ? parseDuration(bo.baseInterval) : undefined;
      const max = set(bo.maxInterval) ? parseDuration(bo.maxInterval) : undefined;
      if (base === 0) throw new SettingError('baseInterval cannot be set to 0s');
      if (max === 0) throw new SettingError('maxInterval cannot be set to 0s');
      if (base !== undefined && max !== undefined && base > max) throw new SettingError('maxInterval cannot be less than baseInterval');
      p.backOff = defined({ baseInterval: goDuration(bo.baseInterval, 'BaseInterval'), maxInterval: goDuration(bo.maxInterval, 'MaxInterval') });
    }
    if (Object.keys(p).length) out.perRetry = p;
  }
  return out;
}

/**
 * The traffic features of a backendSettings block (extension services, telemetry sinks): only
 * what is set; undefined when nothing is. Throws SettingError on bad input.
 */
export function clusterTraffic(cs: ClusterSettings | undefined): ir.TrafficFeatures | undefined {
  if (!cs) return undefined;
  const out: ir.TrafficFeatures = defined({
    timeout: clusterTimeout(cs.timeout),
    backendConnection: backendConnection(cs.connection),
    tcpKeepalive: tcpKeepalive(cs.tcpKeepalive),
    circuitBreaker: circuitBreaker(cs.circuitBreaker),
    loadBalancer: loadBalancer(cs.loadBalancer),
    proxyProtocol: proxyProtocol(cs.proxyProtocol),
    healthCheck: healthCheck(cs.healthCheck),
    dns: cs.dns ? defined({ dnsRefreshRate: goDuration(cs.dns.dnsRefreshRate, 'DNSRefreshRate'), respectDnsTtl: cs.dns.respectDnsTtl ?? undefined, lookupFamily: cs.dns.lookupFamily ?? undefined }) : undefined,
    http2: http2(cs.http2),
    retry: retry(cs.retry),
  });
  return Object.keys(out).length ? out : undefined;
}
