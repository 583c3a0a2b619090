// Cluster settings (circuit breakers, timeouts, load balancing, health checks, HTTP/2, ...) as
// the IR's traffic features. Used by telemetry backends and by policies that shape clusters.
import { formatDuration, parseDuration } from './duration.js';

/**
 * Kubernetes quantities: "20Mi", "128Ki", "1G", "512", "500m", "1e3". The value may come out
 * fractional ("500m" is 0.5): callers that need a whole number check for it.
 */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(q.trim());
  if (!m) return undefined;
  const mult: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  const suffix = m[2];
  const scale = !suffix ? 1 : suffix[0] === 'e' || suffix[0] === 'E' ? 10 ** Number(suffix.slice(1)) : mult[suffix]!;
  const v = Number(m[1]) * scale;
  // Binary and decimal multiples of whole numbers stay exact; round away float noise.
  return Math.abs(v - Math.round(v)) < 1e-9 ? Math.round(v) : v;
}

/** A quantity that must be a whole number (Go's Quantity.AsInt64). */
export function wholeQuantity(q: unknown): number | undefined {
  const n = parseQuantity(q);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

export class SettingsError extends Error {}

function duration(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  const d = parseDuration(v);
  if (d === undefined) throw new SettingsError(`invalid ${what} value ${String(v)}`);
  return formatDuration(d);
}

export const maxUint32 = 4294967295;

function u32(v: unknown, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || v < 0 || v > maxUint32) throw new SettingsError(`invalid ${what} value ${String(v)}`);
  return v;
}

function prune<T extends Record<string, any>>(o: T): T | undefined {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return Object.keys(o).length ? o : undefined;
}

/** Translates ClusterSettings (backendSettings) into IR traffic features; throws SettingsError. */
export function trafficFeatures(cs: any): Record<string, any> | undefined {
  if (!cs) return undefined;
  const out: Record<string, any> = {};
  if (cs.timeout) {
    const to: Record<string, any> = {};
    if (cs.timeout.tcp?.connectTimeout != null) to.tcp = { connectTimeout: duration(cs.timeout.tcp.connectTimeout, 'ConnectTimeout') };
    if (cs.timeout.http) {
      const h = cs.timeout.http;
      to.http = prune({
        connectionIdleTimeout: duration(h.connectionIdleTimeout, 'ConnectionIdleTimeout'),
        maxConnectionDuration: duration(h.maxConnectionDuration, 'MaxConnectionDuration'),
        maxStreamDuration: duration(h.maxStreamDuration, 'MaxStreamDuration'),
        requestTimeout: duration(h.requestTimeout, 'RequestTimeout'),
        streamIdleTimeout: duration(h.streamIdleTimeout, 'StreamIdleTimeout'),
      });
    }
    out.timeout = to;
  }
  if (cs.connection) {
    const bc: Record<string, any> = {};
    if (cs.connection.bufferLimit != null) {
      const n = wholeQuantity(cs.connection.bufferLimit);
      if (n === undefined || n < 0 || n > maxUint32) throw new SettingsError(`invalid BufferLimit value ${cs.connection.bufferLimit}`);
      bc.bufferLimit = n;
    }
    if (cs.connection.preconnect) bc.preconnect = prune({ ...cs.connection.preconnect }) ?? {};
    out.backendConnection = bc;
  }
  if (cs.tcpKeepalive) {
    const k = cs.tcpKeepalive;
    const ka: Record<string, any> = {};
    if (k.probes != null) ka.probes = k.probes;
    if (k.idleTime != null) ka.idleTime = Math.floor((parseDuration(k.idleTime) ?? NaN) / 1000);
    if (k.interval != null) ka.interval = Math.floor((parseDuration(k.interval) ?? NaN) / 1000);
    if (Number.isNaN(ka.idleTime) || Number.isNaN(ka.interval)) throw new SettingsError('invalid tcpKeepalive duration');
    out.tcpKeepalive = ka;
  }
  if (cs.circuitBreaker) {
    const c = cs.circuitBreaker;
    const cb: Record<string, any> = prune({
      maxConnections: u32(c.maxConnections, 'MaxConnections'),
      maxParallelRequests: u32(c.maxParallelRequests, 'MaxParallelRequests'),
      maxPendingRequests: u32(c.maxPendingRequests, 'MaxPendingRequests'),
      maxParallelRetries: u32(c.maxParallelRetries, 'MaxParallelRetries'),
      maxRequestsPerConnection: u32(c.maxRequestsPerConnection, 'MaxRequestsPerConnection'),
    }) ?? {};
    if (c.perEndpoint) cb.perEndpoint = prune({ maxConnections: c.perEndpoint.maxConnections }) ?? {};
    out.circuitBreaker = cb;
  }
  if (cs.loadBalancer) out.loadBalancer = loadBalancer(cs.loadBalancer);
  if (cs.proxyProtocol && (cs.proxyProtocol.version === 'V1' || cs.proxyProtocol.version === 'V2')) {
    out.proxyProtocol = { version: cs.proxyProtocol.version };
  }
  if (cs.healthCheck) {
    const hc: Record<string, any> = {};
    const p = cs.healthCheck.passive;
    if (p) {
      hc.passive = prune({
        splitExternalLocalOriginErrors: p.splitExternalLocalOriginErrors,
        interval: duration(p.interval, 'Interval'),
        consecutiveLocalOriginFailures: p.consecutiveLocalOriginFailures,
        consecutiveGatewayErrors: p.consecutiveGatewayErrors,
        consecutive5xxErrors: p.consecutive5XxErrors,
        baseEjectionTime: duration(p.baseEjectionTime, 'BaseEjectionTime'),
        maxEjectionPercent: p.maxEjectionPercent,
      }) ?? {};
    }
    if (cs.healthCheck.panicThreshold != null) hc.panicThreshold = cs.healthCheck.panicThreshold;
    out.healthCheck = hc;
  }
  if (cs.http2) out.http2 = http2Settings(cs.http2);
  return Object.keys(out).length ? out : undefined;
}

function loadBalancer(lb: any): Record<string, any> {
  const out: Record<string, any> = {};
  const slowStart = lb.slowStart?.window != null ? { window: duration(lb.slowStart.window, 'SlowStart window') } : undefined;
  switch (lb.type) {
    case 'ConsistentHash': {
      const ch: Record<string, any> = {};
      const c = lb.consistentHash ?? {};
      if (c.tableSize != null) ch.tableSize = c.tableSize;
      switch (c.type) {
        case 'SourceIP':
          ch.sourceIP = true;
          break;
        case 'Header':
          ch.headers = [{ name: c.header?.name }];
          break;
        case 'Headers':
          ch.headers = (c.headers ?? []).map((h: any) => ({ name: h.name }));
          break;
        case 'Cookie':
          ch.cookie = c.cookie;
          break;
        case 'QueryParams':
          ch.queryParams = (c.queryParams ?? []).map((q: any) => ({ name: q.name }));
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
  }
  return out;
}

/** HTTP/2 settings. Note the IR's window sizes are given crosswise, as Envoy Gateway does. */
export function http2Settings(h: any): Record<string, any> {
  const out: Record<string, any> = {};
  if (h.initialStreamWindowSize != null) out.initialConnectionWindowSize = parseQuantity(h.initialStreamWindowSize);
  if (h.initialConnectionWindowSize != null) out.initialStreamWindowSize = parseQuantity(h.initialConnectionWindowSize);
  if (h.maxConcurrentStreams != null) out.maxConcurrentStreams = h.maxConcurrentStreams;
  if (h.onInvalidMessage != null) out.resetStreamOnError = h.onInvalidMessage === 'TerminateStream';
  return out;
}
