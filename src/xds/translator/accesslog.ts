// Access logs from the EnvoyProxy telemetry settings: file (text or JSON), gRPC access log
// service (HTTP or TCP) and OpenTelemetry sinks, at the listener (connections that never reach a
// route) and at the HTTP connection manager / TCP proxy (requests and connections).
import type { AccessLog, ALSAccessLog, MapEntry, OpenTelemetryAccessLog } from '../../ir/xds.js';
import { compact, typed, type Msg } from './util.js';

/** Envoy Gateway's default text format. */
export const defaultTextFormat =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

/** Envoy Gateway's default JSON fields. */
export const defaultJSONFormat: Record<string, string> = {
  start_time: '%START_TIME%',
  method: '%REQ(:METHOD)%',
  'x-envoy-origin-path': '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  'x-envoy-upstream-service-time': '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  'x-forwarded-for': '%REQ(X-FORWARDED-FOR)%',
  'user-agent': '%REQ(USER-AGENT)%',
  'x-request-id': '%REQ(X-REQUEST-ID)%',
  ':authority': '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
  route_name: '%ROUTE_NAME%',
};

/** Where a log sink is attached. */
export type AccessLogScope = 'listener' | 'route' | 'tcp';

export class AccessLogError extends Error {}

/** Formatter extensions a format string needs (Envoy only knows them when configured). */
function formatters(formats: string[]): Msg[] | undefined {
  const out: Msg[] = [];
  const all = formats.join('\n');
  if (all.includes('%REQ_WITHOUT_QUERY(')) {
    out.push({
      name: 'envoy.formatter.req_without_query',
      typedConfig: typed('envoy.extensions.formatter.req_without_query.v3.ReqWithoutQuery'),
    });
  }
  return out.length ? out : undefined;
}

function filterFor(scope: AccessLogScope, celMatches: string[] | undefined): Msg | undefined {
  const filters: Msg[] = (celMatches ?? []).map((expression) => ({
    extensionFilter: {
      name: 'envoy.access_loggers.extension_filters.cel',
      typedConfig: typed('envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter', { expression }),
    },
  }));
  // At the listener, only log what the HTTP connection manager will not: requests without a route.
  if (scope === 'listener') filters.push({ responseFlagFilter: { flags: ['NR'] } });
  if (!filters.length) return undefined;
  if (filters.length === 1) return filters[0];
  return { andFilter: { filters } };
}

function jsonFormat(entries: MapEntry[] | undefined): Record<string, string> {
  if (!entries?.length) return { ...defaultJSONFormat };
  const o: Record<string, string> = {};
  for (const e of entries) o[e.key] = e.value;
  return o;
}

function anyValues(entries: MapEntry[] | undefined): Msg | undefined {
  if (!entries?.length) return undefined;
  return { values: entries.map((e) => ({ key: e.key, value: { stringValue: e.value } })) };
}

/** The access log list for one attachment point; empty when the IR has none. */
export function buildAccessLogs(al: AccessLog | undefined, scope: AccessLogScope): Msg[] | undefined {
  if (!al) return undefined;
  const out: Msg[] = [];
  for (const t of al.text ?? []) {
    if (t.format === undefined || t.format === null) throw new AccessLogError('text.Format is nil');
    const logFormat: Msg = { textFormatSource: { inlineString: t.format } };
    const f = formatters([t.format]);
    if (f) logFormat.formatters = f;
    out.push(withFilter({
      name: 'envoy.access_loggers.file',
      typedConfig: typed('envoy.extensions.access_loggers.file.v3.FileAccessLog', { path: t.path, logFormat }),
    }, filterFor(scope, t.celMatches)));
  }
  for (const j of al.json ?? []) {
    const json = jsonFormat(j.json);
    const logFormat: Msg = { jsonFormat: json };
    const f = formatters(Object.values(json));
    if (f) logFormat.formatters = f;
    out.push(withFilter({
      name: 'envoy.access_loggers.file',
      typedConfig: typed('envoy.extensions.access_loggers.file.v3.FileAccessLog', { path: j.path, logFormat }),
    }, filterFor(scope, j.celMatches)));
  }
  for (const a of al.als ?? []) out.push(withFilter(alsLogger(a, scope), filterFor(scope, a.celMatches)));
  for (const o of al.openTelemetry ?? []) out.push(withFilter(otelLogger(o), filterFor(scope, o.celMatches)));
  return out.length ? out : undefined;
}

function withFilter(log: Msg, filter: Msg | undefined): Msg {
  return filter ? { filter, ...log } : log;
}

function alsLogger(a: ALSAccessLog, scope: AccessLogScope): Msg {
  const common: Msg = {
    logName: a.name,
    grpcService: { envoyGrpc: { clusterName: a.destination.name, authority: a.destination.name } },
    transportApiVersion: 'V3',
  };
  if (a.type === 'TCP' || scope === 'tcp') {
    return {
      name: 'envoy.access_loggers.tcp_grpc',
      typedConfig: typed('envoy.extensions.access_loggers.grpc.v3.TcpGrpcAccessLogConfig', { commonConfig: common }),
    };
  }
  const cfg: Msg = { commonConfig: common };
  if (a.http?.requestHeaders?.length) cfg.additionalRequestHeadersToLog = [...a.http.requestHeaders];
  if (a.http?.responseHeaders?.length) cfg.additionalResponseHeadersToLog = [...a.http.responseHeaders];
  if (a.http?.responseTrailers?.length) cfg.additionalResponseTrailersToLog = [...a.http.responseTrailers];
  return { name: 'envoy.access_loggers.http_grpc', typedConfig: typed('envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig', cfg) };
}

function otelLogger(o: OpenTelemetryAccessLog): Msg {
  const attrs: MapEntry[] = [
    { key: 'k8s.namespace.name', value: '%ENVIRONMENT(ENVOY_POD_NAMESPACE)%' },
    { key: 'k8s.pod.name', value: '%ENVIRONMENT(ENVOY_POD_NAME)%' },
    ...(o.attributes ?? []),
  ];
  const grpc: Msg = { envoyGrpc: compact({ authority: o.authority, clusterName: o.destination.name }) };
  if (o.headers?.length) grpc.initialMetadata = o.headers.map((h) => ({ key: h.name, value: h.value }));
  const cfg: Msg = {
    commonConfig: { logName: 'otel_envoy_accesslog', grpcService: grpc, transportApiVersion: 'V3' },
    body: { stringValue: o.text ?? defaultTextFormat },
    attributes: anyValues(attrs),
  };
  const ra = anyValues(o.resourceAttributes);
  if (ra) cfg.resourceAttributes = ra;
  const f = formatters([o.text ?? '', ...attrs.map((a) => a.value)]);
  if (f) cfg.formatters = f;
  return {
    name: 'envoy.access_loggers.open_telemetry',
    typedConfig: typed('envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig', cfg),
  };
}
