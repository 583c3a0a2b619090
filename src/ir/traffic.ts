// Traffic features: what a BackendTrafficPolicy (and the backend settings of telemetry sinks,
// ext auth, ext proc...) sets on a route's or a service's upstream: load balancing, health
// checks, circuit breakers, retries, timeouts, rate limits, fault injection, compression...
import type { AddHeader, Bytes, CIDRMatch, Duration, FractionalPercent, StringMatch } from './common.js';
import type { HTTPRedirect } from './route.js';

export interface TrafficFeatures {
  rateLimit?: RateLimit;
  loadBalancer?: LoadBalancer;
  /** PROXY protocol towards the upstream. */
  proxyProtocol?: UpstreamProxyProtocol;
  healthCheck?: HealthCheck;
  circuitBreaker?: CircuitBreaker;
  faultInjection?: FaultInjection;
  tcpKeepalive?: TCPKeepalive;
  retry?: Retry;
  timeout?: Timeout;
  backendConnection?: BackendConnection;
  http2?: HTTP2Settings;
  dns?: DNS;
  responseOverride?: ResponseOverride;
  compression?: Compression[];
  httpUpgrade?: HTTPUpgradeConfig[];
  telemetry?: BackendTelemetry;
  requestBuffer?: RequestBuffer;
  bandwidthLimit?: BandwidthLimit;
  admissionControl?: AdmissionControl;
}

export interface LoadBalancer {
  roundRobin?: { slowStart?: SlowStart };
  leastRequest?: { slowStart?: SlowStart; activeRequestBias?: number };
  random?: Record<string, never>;
  consistentHash?: ConsistentHash;
  /** Client-side weighted round robin from ORCA load reports. */
  backendUtilization?: BackendUtilization;
  preferLocal?: PreferLocal;
  /** Static zone weights (locality weighted load balancing). */
  weightedZones?: { zone: string; weight: number }[];
  /** Route to a specific endpoint chosen by a request header, when present and healthy. */
  endpointOverride?: { extractFrom: { header?: string }[] };
}

export interface SlowStart {
  window: Duration;
}

export interface ConsistentHash {
  sourceIP?: boolean;
  headers?: { name: string }[];
  cookie?: { name: string; ttl?: Duration; attributes?: Record<string, string> };
  queryParams?: { name: string }[];
  /** Maglev table size. */
  tableSize?: number;
}

export interface BackendUtilization {
  blackoutPeriod?: Duration;
  weightExpirationPeriod?: Duration;
  weightUpdatePeriod?: Duration;
  errorUtilizationPenaltyPercent?: number;
  metricNamesForComputingUtilization?: string[];
  keepResponseHeaders?: boolean;
  outOfBand?: { authority?: string; port?: number; reportingPeriod?: Duration };
  slowStart?: SlowStart;
}

export interface PreferLocal {
  minEndpointsThreshold?: number;
  percentageEnabled?: number;
  force?: { minEndpointsInZoneThreshold?: number };
}

export interface UpstreamProxyProtocol {
  version: 'V1' | 'V2';
}

export interface HealthCheck {
  active?: ActiveHealthCheck;
  passive?: OutlierDetection;
  /** Envoy's healthy panic threshold, in percent. */
  panicThreshold?: number;
}

export interface ActiveHealthCheck {
  timeout?: Duration | null;
  interval?: Duration;
  initialJitter?: Duration;
  unhealthyThreshold?: number | null;
  healthyThreshold?: number | null;
  http?: HTTPHealthChecker;
  grpc?: { service?: string };
  tcp?: TCPHealthChecker;
  /** Health check a different port than the traffic port. */
  overrides?: { port?: number };
  backendHealthCheckLog?: HealthCheckLog;
}

export interface HTTPHealthChecker {
  host?: string;
  path: string;
  method?: string;
  expectedStatuses?: number[];
  expectedResponse?: HealthCheckPayload;
  requestBody?: HealthCheckPayload;
  retriableStatuses?: number[];
}

export interface TCPHealthChecker {
  send?: HealthCheckPayload;
  receive?: HealthCheckPayload;
}

/** Text, or binary (base64). */
export interface HealthCheckPayload {
  text?: string;
  binary?: Bytes;
}

/** Where health check events are logged. */
export interface HealthCheckLog {
  alwaysLogHealthCheckFailures?: boolean;
  alwaysLogHealthCheckSuccess?: boolean;
  fileSinks?: { path: string }[];
}

/** Passive health checking: Envoy's outlier detection. */
export interface OutlierDetection {
  splitExternalLocalOriginErrors?: boolean;
  interval?: Duration;
  consecutiveLocalOriginFailures?: number;
  consecutiveGatewayErrors?: number;
  consecutive5XxErrors?: number;
  baseEjectionTime?: Duration;
  maxEjectionPercent?: number;
  failurePercentageThreshold?: number;
  alwaysEjectOneEndpoint?: boolean;
}

export interface CircuitBreaker {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxParallelRequests?: number;
  maxParallelRetries?: number;
  maxRequestsPerConnection?: number;
  perEndpoint?: { maxConnections?: number };
  retryBudget?: { percent?: number; minRetryConcurrency?: number };
}

export interface FaultInjection {
  delay?: { fixedDelay: Duration; percentage?: number };
  abort?: { httpStatus?: number; grpcStatus?: number; percentage?: number };
}

export interface TCPKeepalive {
  probes?: number;
  /** Seconds. */
  idleTime?: number;
  /** Seconds. */
  interval?: number;
}

export interface Retry {
  numRetries?: number;
  /** Attempts made at each priority before moving to the next one. */
  numAttemptsPerPriority?: number;
  retryOn?: { triggers?: string[]; httpStatusCodes?: number[] };
  perRetry?: { timeout?: Duration; backOff?: { baseInterval?: Duration; maxInterval?: Duration } };
}

export interface Timeout {
  tcp?: { connectTimeout?: Duration };
  http?: {
    requestTimeout?: Duration;
    connectionIdleTimeout?: Duration;
    maxConnectionDuration?: Duration;
    maxStreamDuration?: Duration;
    streamIdleTimeout?: Duration;
  };
}

export interface BackendConnection {
  /** Bytes. */
  bufferLimit?: number;
  /** Bytes: the socket's send and receive buffers. */
  socketBufferLimit?: number;
  preconnect?: { perEndpointPercent?: number; predictivePercent?: number };
}

/** HTTP/2 settings, used both downstream (listener) and upstream (cluster). */
export interface HTTP2Settings {
  /**
   * Careful: Envoy Gateway's IR swaps the two window keys. This key holds the *connection*
   * window (ClientTrafficPolicy/BackendTrafficPolicy http2.initialConnectionWindowSize, in bytes).
   */
  initialStreamWindowSize?: number;
  /** Careful (see above): this key holds the *stream* window (http2.initialStreamWindowSize). */
  initialConnectionWindowSize?: number;
  maxConcurrentStreams?: number;
  /** Reset only the stream (not the connection) on a protocol error. */
  resetStreamOnError?: boolean;
  connectionKeepalive?: {
    interval?: Duration;
    timeout?: Duration;
    intervalJitter?: number;
    idleInterval?: Duration;
  };
}

export interface DNS {
  dnsRefreshRate?: Duration;
  respectDnsTtl?: boolean;
  /** IPv4, IPv6, IPv4Preferred, IPv6Preferred, IPv4AndIPv6. */
  lookupFamily?: string;
  /** The policy that set these (for the DNS resolver cache name). */
  name?: string;
}

export interface ResponseOverride {
  /** The policy's name, used as the filter's per-route config key. */
  name: string;
  rules: ResponseOverrideRule[];
}

export interface ResponseOverrideRule {
  name: string;
  match: {
    statusCodes?: { value?: number; range?: { start: number; end: number } }[];
    responseHeaders?: StringMatch[];
  };
  response?: {
    contentType?: string;
    body?: Bytes;
    statusCode?: number;
    addResponseHeaders?: AddHeader[];
  };
  redirect?: HTTPRedirect;
  /** Which responses the rule applies to: from the backend, generated locally, or both. */
  source?: 'Backend' | 'Local' | 'All';
}

export interface Compression {
  type: 'Gzip' | 'Brotli' | 'Zstd';
  minContentLength?: number;
  /** Prefer this compressor when the client accepts several. */
  chooseFirst?: boolean;
}

export interface HTTPUpgradeConfig {
  type: string;
  connect?: { terminate?: boolean };
}

export interface BackendTelemetry {
  tracing?: RouteTracing;
}

export interface RouteTracing {
  samplingFraction?: FractionalPercent;
  clientSamplingFraction?: FractionalPercent;
  overallSamplingFraction?: FractionalPercent;
  customTags?: CustomTag[];
  spanName?: { client?: string; server?: string };
}

export interface CustomTag {
  key: string;
  value: {
    type: 'Literal' | 'Environment' | 'RequestHeader' | 'Metadata';
    literal?: { value: string };
    environment?: { name: string; defaultValue?: string };
    requestHeader?: { name: string; defaultValue?: string };
    metadata?: { kind?: string; key?: { key: string; path?: { key: string }[] }; defaultValue?: string };
  };
}

export interface RequestBuffer {
  /** A Kubernetes quantity, e.g. "4Mi". */
  limit: string;
}

export interface BandwidthLimit {
  request?: { limitKibps: number };
  response?: { limitKibps: number; responseTrailers?: { prefix?: string } };
}

export interface AdmissionControl {
  samplingWindow?: Duration;
  minSuccessRate?: number;
  minRequestRate?: number;
  maxRejectionPercent?: number;
  rejectionAggression?: number;
  successCriteria?: { http?: { statusCodes?: number[] }; grpc?: { statusCodes?: string[] } };
}

export interface RateLimit {
  global?: { rules: RateLimitRule[] };
  local?: { default?: RateLimitValue; rules?: RateLimitRule[] };
}

export interface RateLimitRule {
  /** `<policy namespace>/<policy name>/rule/<index>`. */
  name?: string;
  headerMatches?: StringMatch[];
  methodMatches?: StringMatch[];
  pathMatch?: StringMatch;
  queryParamMatches?: StringMatch[];
  cidrMatch?: CIDRMatch;
  limit: RateLimitValue;
  requestCost?: RateLimitCost;
  responseCost?: RateLimitCost;
  /** The bucket is shared by all routes the policy targets. */
  shared?: boolean;
  shadowMode?: boolean;
  /** Whether to send X-RateLimit-* headers: Off or DraftVersion03. */
  xRateLimitOption?: string;
}

export interface RateLimitValue {
  requests?: number;
  /** Second, Minute, Hour, Day, Month, Year. */
  unit?: string;
  /** Take the limit from dynamic metadata instead. */
  fromMetadata?: { namespace: string; key: string };
}

/** The cost of a request: a constant, or a format string resolved per request. */
export interface RateLimitCost {
  number?: number;
  format?: string;
}

