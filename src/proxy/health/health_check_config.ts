// envoy.config.core.v3.HealthCheck compiled: the timing (interval, timeout, jitter, the edge and
// no-traffic intervals), the thresholds, and what one check is (HTTP request with expected
// statuses and body, TCP send/receive, or gRPC Health/Check), with Envoy's defaults.
import { ConfigError } from '../config/errors.js';
import { anyType, at, bool, bytes, durationMs, enumOf, field, list, num, numOr, obj, str, type Json } from '../config/json.js';

export type HealthCheckerType = 'HTTP' | 'TCP' | 'GRPC';

export interface HttpCheck {
  kind: 'HTTP';
  /** :authority; empty means the cluster name (or the endpoint's health check hostname). */
  host: string;
  path: string;
  method: string;
  /** Request body (the `send` payload), or undefined. */
  send: Buffer | undefined;
  /** Blocks that must appear, in order, in the first responseBufferSize bytes of the body. */
  receive: Buffer[];
  responseBufferSize: number;
  /** [start, end) ranges; the default is 200 only. */
  expectedStatuses: [number, number][];
  /** Statuses that count as failures towards the unhealthy threshold instead of failing at once. */
  retriableStatuses: [number, number][];
  headersToAdd: { name: string; value: string; append: boolean }[];
  headersToRemove: string[];
  http2: boolean;
}

export interface TcpCheck {
  kind: 'TCP';
  send: Buffer | undefined;
  receive: Buffer[];
}

export interface GrpcCheck {
  kind: 'GRPC';
  serviceName: string;
  authority: string;
  metadata: { name: string; value: string }[];
}

export interface HealthCheckSettings {
  check: HttpCheck | TcpCheck | GrpcCheck;
  timeoutMs: number;
  intervalMs: number;
  initialJitterMs: number;
  intervalJitterMs: number;
  intervalJitterPercent: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
  reuseConnection: boolean;
  noTrafficIntervalMs: number;
  noTrafficHealthyIntervalMs: number;
  unhealthyIntervalMs: number;
  unhealthyEdgeIntervalMs: number;
  healthyEdgeIntervalMs: number;
  /** Files (or /dev/stdout, /dev/stderr) health check events are written to. */
  eventLogPaths: string[];
  alwaysLogFailures: boolean;
  alwaysLogSuccess: boolean;
  alpn: string[];
}

const FILE_SINK = 'envoy.extensions.health_check.event_sinks.file.v3.HealthCheckEventFileSink';

function payload(p: Json | undefined, path: string): Buffer | undefined {
  if (!p) return undefined;
  const text = field(p, 'text');
  if (typeof text === 'string') {
    if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw new ConfigError(at(path, 'text'), 'must be hex-encoded bytes');
    return Buffer.from(text, 'hex');
  }
  const b = bytes(p, 'binary', path);
  if (b) return b;
  throw new ConfigError(path, 'a payload needs text or binary');
}

function ranges(entries: Json[], path: string): [number, number][] {
  return entries.map((r: Json, i: number) => {
    const rp = at(path, i);
    const start = numOr(r, 'start', rp, 0);
    const end = numOr(r, 'end', rp, 0);
    if (start < 100 || end > 600 || end <= start) throw new ConfigError(rp, 'a status range needs 100 <= start < end <= 600');
    return [start, end] as [number, number];
  });
}

export function compileHealthCheck(hc: Json, path: string): HealthCheckSettings {
  const timeoutMs = durationMs(hc, 'timeout', path);
  if (!timeoutMs || timeoutMs <= 0) throw new ConfigError(at(path, 'timeout'), 'required, and greater than 0');
  const intervalMs = durationMs(hc, 'interval', path);
  if (!intervalMs || intervalMs <= 0) throw new ConfigError(at(path, 'interval'), 'required, and greater than 0');
  const unhealthyThreshold = num(hc, 'unhealthyThreshold', path);
  if (unhealthyThreshold === undefined) throw new ConfigError(at(path, 'unhealthyThreshold'), 'required');
  const healthyThreshold = num(hc, 'healthyThreshold', path);
  if (healthyThreshold === undefined) throw new ConfigError(at(path, 'healthyThreshold'), 'required');

  let check: HealthCheckSettings['check'];
  const http = obj(hc, 'httpHealthCheck', path);
  const tcp = obj(hc, 'tcpHealthCheck', path);
  const grpc = obj(hc, 'grpcHealthCheck', path);
  if (obj(hc, 'customHealthCheck', path)) throw new ConfigError(at(path, 'customHealthCheck'), 'custom health checkers are not supported');
  if ([http, tcp, grpc].filter(Boolean).length !== 1) throw new ConfigError(path, 'exactly one of http_health_check, tcp_health_check or grpc_health_check is required');
  if (http) {
    const hp = at(path, 'httpHealthCheck');
    const p = str(http, 'path', hp);
    if (!p) throw new ConfigError(at(hp, 'path'), 'required');
    const method = enumOf(http, 'method', hp, ['METHOD_UNSPECIFIED', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'] as const, 'METHOD_UNSPECIFIED');
    if (method === 'CONNECT') throw new ConfigError(at(hp, 'method'), 'CONNECT is not allowed for health checks');
    const codec = enumOf(http, 'codecClientType', hp, ['HTTP1', 'HTTP2', 'HTTP3'] as const, 'HTTP1');
    if (codec === 'HTTP3') throw new ConfigError(at(hp, 'codecClientType'), 'HTTP/3 health checks are not supported');
    if (obj(http, 'serviceNameMatcher', hp)) throw new ConfigError(at(hp, 'serviceNameMatcher'), 'not supported by this proxy');
    const expected = ranges(list(http, 'expectedStatuses', hp), at(hp, 'expectedStatuses'));
    check = {
      kind: 'HTTP',
      host: str(http, 'host', hp),
      path: p,
      method: method === 'METHOD_UNSPECIFIED' ? 'GET' : method,
      send: payload(obj(http, 'send', hp), at(hp, 'send')),
      receive: list(http, 'receive', hp).map((r: Json, i: number) => payload(r, at(at(hp, 'receive'), i))!),
      responseBufferSize: numOr(http, 'responseBufferSize', hp, 1024),
      expectedStatuses: expected.length ? expected : [[200, 201]],
      retriableStatuses: ranges(list(http, 'retriableStatuses', hp), at(hp, 'retriableStatuses')),
      headersToAdd: list(http, 'requestHeadersToAdd', hp).map((h: Json, i: number) => {
        const ap = at(at(hp, 'requestHeadersToAdd'), i);
        const header = obj(h, 'header', ap) ?? {};
        const action = enumOf(h, 'appendAction', ap, ['APPEND_IF_EXISTS_OR_ADD', 'ADD_IF_ABSENT', 'OVERWRITE_IF_EXISTS_OR_ADD', 'OVERWRITE_IF_EXISTS'] as const, 'APPEND_IF_EXISTS_OR_ADD');
        return { name: str(header, 'key', at(ap, 'header')).toLowerCase(), value: str(header, 'value', at(ap, 'header')), append: bool(h, 'append', ap, action === 'APPEND_IF_EXISTS_OR_ADD') };
      }),
      headersToRemove: list(http, 'requestHeadersToRemove', hp).map((h: unknown) => String(h).toLowerCase()),
      http2: codec === 'HTTP2',
    };
  } else if (tcp) {
    const tp = at(path, 'tcpHealthCheck');
    if (obj(tcp, 'proxyProtocolConfig', tp)) throw new ConfigError(at(tp, 'proxyProtocolConfig'), 'not supported by this proxy');
    check = {
      kind: 'TCP',
      send: payload(obj(tcp, 'send', tp), at(tp, 'send')),
      receive: list(tcp, 'receive', tp).map((r: Json, i: number) => payload(r, at(at(tp, 'receive'), i))!),
    };
  } else {
    const gp = at(path, 'grpcHealthCheck');
    check = {
      kind: 'GRPC',
      serviceName: str(grpc!, 'serviceName', gp),
      authority: str(grpc!, 'authority', gp),
      metadata: list(grpc!, 'initialMetadata', gp).map((h: Json, i: number) => {
        const header = obj(h, 'header', at(at(gp, 'initialMetadata'), i)) ?? {};
        return { name: str(header, 'key', '').toLowerCase(), value: str(header, 'value', '') };
      }),
    };
  }

  const eventLogPaths: string[] = [];
  const legacy = str(hc, 'eventLogPath', path);
  if (legacy) eventLogPaths.push(legacy);
  list(hc, 'eventLogger', path).forEach((e: Json, i: number) => {
    const ep = at(at(path, 'eventLogger'), i);
    const tc = obj(e, 'typedConfig', ep);
    const type = tc ? anyType(tc, at(ep, 'typedConfig')) : '';
    if (type !== FILE_SINK) throw new ConfigError(at(ep, 'typedConfig'), `unsupported health check event sink ${type || str(e, 'name', ep)}`);
    const p = str(tc!, 'eventLogPath', at(ep, 'typedConfig'));
    if (!p) throw new ConfigError(at(ep, 'typedConfig.eventLogPath'), 'required');
    eventLogPaths.push(p);
  });
  if (obj(hc, 'eventService', path)) throw new ConfigError(at(path, 'eventService'), 'health check event services are not supported');
  if (obj(hc, 'transportSocketMatchCriteria', path)) throw new ConfigError(at(path, 'transportSocketMatchCriteria'), 'not supported by this proxy');
  const tlsOptions = obj(hc, 'tlsOptions', path);
  const unhealthyIntervalMs = durationMs(hc, 'unhealthyInterval', path) ?? intervalMs;
  return {
    check,
    timeoutMs,
    intervalMs,
    initialJitterMs: durationMs(hc, 'initialJitter', path) ?? 0,
    intervalJitterMs: durationMs(hc, 'intervalJitter', path) ?? 0,
    intervalJitterPercent: numOr(hc, 'intervalJitterPercent', path, 0),
    unhealthyThreshold,
    healthyThreshold,
    reuseConnection: bool(hc, 'reuseConnection', path, true),
    noTrafficIntervalMs: durationMs(hc, 'noTrafficInterval', path) ?? 60_000,
    noTrafficHealthyIntervalMs: durationMs(hc, 'noTrafficHealthyInterval', path) ?? 0,
    unhealthyIntervalMs,
    unhealthyEdgeIntervalMs: durationMs(hc, 'unhealthyEdgeInterval', path) ?? unhealthyIntervalMs,
    healthyEdgeIntervalMs: durationMs(hc, 'healthyEdgeInterval', path) ?? intervalMs,
    eventLogPaths,
    alwaysLogFailures: bool(hc, 'alwaysLogHealthCheckFailures', path),
    alwaysLogSuccess: bool(hc, 'alwaysLogHealthCheckSuccess', path),
    alpn: tlsOptions ? list(tlsOptions, 'alpnProtocols', at(path, 'tlsOptions')).map(String) : [],
  };
}

export function compileHealthChecks(entries: Json[], path: string): HealthCheckSettings[] {
  // Envoy runs one health checker per cluster.
  if (entries.length > 1) throw new ConfigError(at(path, 1), 'only one health check per cluster is supported');
  return entries.map((hc, i) => compileHealthCheck(hc, at(path, i)));
}
