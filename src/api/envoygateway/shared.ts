// Types the gateway.envoyproxy.io kinds share: policy targets, backend references and the
// cluster settings (load balancing, retries, health checks, circuit breakers, timeouts...)
// that BackendTrafficPolicy and every policy reaching an external service carry.
import { int32, int64, list, rule, str, stringMap, z } from '../schema.js';
import {
  BackendObjectReference,
  backendRefShape,
  Group,
  HeaderName,
  Kind,
  LabelSelector,
  LabelSelectorRequirement,
  LocalPolicyTargetReferenceWithSectionName,
  Namespace,
  ObjectName,
  servicePortRequired,
} from '../gatewayapi/shared.js';

/** A Go duration string (`300ms`, `1.5h`, `2h45m`), as metav1.Duration accepts. */
export const GoDuration = str({ pattern: /^-?([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$|^0$/, what: 'a duration such as 500ms, 30s, 1.5h or 1h30m' });

/** A Kubernetes quantity (`512Mi`, `1G`, `100m`), as a string or a number. */
export const Quantity = z.union([
  z.number(),
  str({
    pattern: /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/,
    what: 'a quantity such as 512Mi, 1G or 100',
  }),
]);

export const uint32 = () => int64(0, 4294967295);

/** A percentage as a fraction (numerator over denominator, default 100). */
export const Fraction = z.strictObject({ numerator: int32(0), denominator: int32(1).default(100) });

/** Label-selected targets (instead of, or beside, named ones). */
export const TargetSelector = z.strictObject({
  group: Group.default('gateway.networking.k8s.io'),
  kind: Kind,
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: list(LabelSelectorRequirement).optional(),
  namespaces: z.strictObject({ from: z.enum(['Same', 'All', 'Selector']).default('Same'), selector: LabelSelector.optional() }).optional(),
});
export type TargetSelector = z.input<typeof TargetSelector>;

/** targetRef (deprecated), targetRefs and targetSelectors, shared by the policies. */
export const policyTargetShape = {
  targetRef: LocalPolicyTargetReferenceWithSectionName.optional(),
  targetRefs: list(LocalPolicyTargetReferenceWithSectionName).optional(),
  targetSelectors: list(TargetSelector).optional(),
};

/** A policy names its targets with targetRef or targetRefs (not both), or selects them by label. */
export const policyTargets = rule<{ targetRef?: unknown; targetRefs?: unknown[]; targetSelectors?: unknown[] }>((s, fail) => {
  const one = s.targetRef !== undefined;
  const many = s.targetRefs !== undefined;
  if (one && many) fail('give targetRef or targetRefs, not both', 'targetRefs');
  else if (!one && !many && !s.targetSelectors?.length) fail('targetRef, targetRefs or targetSelectors is required', 'targetRefs');
});

/** How a route-level policy combines with the policy of its Gateway or ListenerSet. */
export const MergeType = z.enum(['StrategicMerge', 'JSONMerge']);

/** A backend reference: a Service, ServiceImport or Backend, optionally a fallback. */
export const BackendRef = z
  .strictObject({ ...backendRefShape, fallback: z.boolean().optional() })
  .superRefine(servicePortRequired);
export type BackendRef = z.input<typeof BackendRef>;

const backendGroups = new Set(['', 'multicluster.x-k8s.io', 'gateway.envoyproxy.io']);
const backendKinds = new Set(['Service', 'ServiceImport', 'Backend']);

/** backendRefs reach Services, ServiceImports and Backends only. */
export const backendRefKinds = rule<{ group?: string; kind?: string }[]>((refs, fail) => {
  refs.forEach((r, i) => {
    if (!backendGroups.has(r.group ?? '')) fail('group must be "", multicluster.x-k8s.io or gateway.envoyproxy.io', i, 'group');
    if (!backendKinds.has(r.kind ?? 'Service')) fail('kind must be Service, ServiceImport or Backend', i, 'kind');
  });
});

export const ProxyProtocol = z.strictObject({ version: z.enum(['V1', 'V2']) });

export const TCPKeepalive = z.strictObject({
  probes: uint32().optional(),
  idleTime: GoDuration.optional(),
  interval: GoDuration.optional(),
});

export const ConsistentHash = z
  .strictObject({
    type: z.enum(['SourceIP', 'Header', 'Headers', 'Cookie', 'QueryParams']),
    header: z.strictObject({ name: str() }).optional(),
    headers: list(z.strictObject({ name: str() })).optional(),
    cookie: z
      .strictObject({ name: str(), ttl: GoDuration.optional(), attributes: z.record(z.string(), z.string()).optional() })
      .optional(),
    queryParams: list(z.strictObject({ name: str() })).optional(),
    tableSize: int64(2, 5000011).default(65537),
  })
  .superRefine(
    rule((c, fail) => {
      const needs: Record<string, string> = { Header: 'header', Headers: 'headers', Cookie: 'cookie', QueryParams: 'queryParams' };
      const field = needs[c.type];
      if (field && (c as Record<string, unknown>)[field] === undefined) fail(`${field} is required when type is ${c.type}`, field);
    }),
  );

export const LoadBalancer = z
  .strictObject({
    type: z.enum(['ConsistentHash', 'LeastRequest', 'Random', 'RoundRobin', 'BackendUtilization']),
    consistentHash: ConsistentHash.optional(),
    slowStart: z.strictObject({ window: GoDuration }).optional(),
    zoneAware: z
      .strictObject({
        preferLocal: z
          .strictObject({
            force: z.strictObject({ minEndpointsInZoneThreshold: uint32().optional() }).optional(),
            minEndpointsThreshold: int64(0).optional(),
            percentageEnabled: int32(0, 100).optional(),
          })
          .optional(),
        weightedZones: list(z.strictObject({ zone: str(), weight: uint32() })).optional(),
      })
      .optional(),
    endpointOverride: z
      .strictObject({ extractFrom: list(z.strictObject({ header: str().optional() }), undefined, 1) })
      .optional(),
    backendUtilization: z
      .strictObject({
        blackoutPeriod: GoDuration.optional(),
        weightExpirationPeriod: GoDuration.optional(),
        weightUpdatePeriod: GoDuration.optional(),
        errorUtilizationPenaltyPercent: int32(0).optional(),
        metricNamesForComputingUtilization: list(str()).optional(),
        keepResponseHeaders: z.boolean().optional(),
        outOfBand: z
          .strictObject({ authority: str().optional(), port: int32(1, 65535).optional(), reportingPeriod: GoDuration.optional() })
          .optional(),
      })
      .optional(),
  })
  .superRefine(
    rule((lb, fail) => {
      if (lb.type === 'ConsistentHash' && !lb.consistentHash) fail('consistentHash is required when type is ConsistentHash', 'consistentHash');
      if (lb.consistentHash && lb.type !== 'ConsistentHash') fail('consistentHash may only be set when type is ConsistentHash', 'consistentHash');
      if (lb.slowStart && lb.type !== 'RoundRobin' && lb.type !== 'LeastRequest') fail('slowStart applies to RoundRobin and LeastRequest only', 'slowStart');
      if (lb.backendUtilization && lb.type !== 'BackendUtilization') fail('backendUtilization may only be set when type is BackendUtilization', 'backendUtilization');
    }),
  );
export type LoadBalancer = z.input<typeof LoadBalancer>;

export const RetryOn = z.strictObject({
  triggers: list(
    z.enum([
      '5xx',
      'gateway-error',
      'reset',
      'reset-before-request',
      'connect-failure',
      'retriable-4xx',
      'refused-stream',
      'retriable-status-codes',
      'cancelled',
      'deadline-exceeded',
      'internal',
      'resource-exhausted',
      'unavailable',
    ]),
  ).optional(),
  httpStatusCodes: list(int32(100, 600)).optional(),
});

export const Retry = z.strictObject({
  numRetries: int32(0).default(2),
  numAttemptsPerPriority: int32(0).optional(),
  retryOn: RetryOn.optional(),
  perRetry: z
    .strictObject({
      backOff: z.strictObject({ baseInterval: GoDuration.optional(), maxInterval: GoDuration.optional() }).optional(),
      timeout: GoDuration.optional(),
    })
    .optional(),
});
export type Retry = z.input<typeof Retry>;

/** A payload for TCP health checks and expected responses: text or base64 binary. */
export const ActiveHealthCheckPayload = z
  .strictObject({ type: z.enum(['Text', 'Binary']), text: str().optional(), binary: str().optional() })
  .superRefine(
    rule((p, fail) => {
      if (p.type === 'Text' && p.text === undefined) fail('text is required when type is Text', 'text');
      if (p.type === 'Binary' && p.binary === undefined) fail('binary is required when type is Binary', 'binary');
      if (p.type === 'Text' && p.binary !== undefined) fail('binary may only be set when type is Binary', 'binary');
      if (p.type === 'Binary' && p.text !== undefined) fail('text may only be set when type is Text', 'text');
    }),
  );

export const HTTPActiveHealthChecker = z.strictObject({
  hostname: str().optional(),
  path: str({ min: 1, max: 1024 }),
  method: str().optional(),
  expectedStatuses: list(int32(100, 599)).optional(),
  retriableStatuses: list(int32(100, 599)).optional(),
  expectedResponse: ActiveHealthCheckPayload.optional(),
  requestBody: ActiveHealthCheckPayload.optional(),
});

export const ActiveHealthCheck = z
  .strictObject({
    timeout: GoDuration.default('1s'),
    interval: GoDuration.default('3s'),
    initialJitter: GoDuration.optional(),
    unhealthyThreshold: uint32().default(3),
    healthyThreshold: uint32().default(1),
    type: z.enum(['HTTP', 'TCP', 'GRPC']),
    http: HTTPActiveHealthChecker.optional(),
    tcp: z.strictObject({ send: ActiveHealthCheckPayload.optional(), receive: ActiveHealthCheckPayload.optional() }).optional(),
    grpc: z.strictObject({ service: str().optional() }).optional(),
    overrides: z.strictObject({ port: int32(1, 65535).optional() }).optional(),
  })
  .superRefine(
    rule((a, fail) => {
      const fields = { HTTP: 'http', TCP: 'tcp', GRPC: 'grpc' } as const;
      if (a.type === 'HTTP' && !a.http) fail('http is required when type is HTTP', 'http');
      for (const [type, field] of Object.entries(fields)) {
        if ((a as Record<string, unknown>)[field] !== undefined && a.type !== type) fail(`${field} may only be set when type is ${type}`, field);
      }
    }),
  );

export const PassiveHealthCheck = z.strictObject({
  splitExternalLocalOriginErrors: z.boolean().default(false),
  interval: GoDuration.default('3s'),
  consecutiveLocalOriginFailures: uint32().default(5),
  consecutiveGatewayErrors: uint32().default(0),
  consecutive5XxErrors: uint32().default(5),
  baseEjectionTime: GoDuration.default('30s'),
  maxEjectionPercent: int32(0, 100).default(10),
  failurePercentageThreshold: int32(0, 100).optional(),
});

export const HealthCheck = z.strictObject({
  active: ActiveHealthCheck.optional(),
  passive: PassiveHealthCheck.optional(),
  panicThreshold: int32(0, 100).optional(),
});
export type HealthCheck = z.input<typeof HealthCheck>;

export const CircuitBreaker = z.strictObject({
  maxConnections: uint32().default(1024),
  maxPendingRequests: uint32().default(1024),
  maxParallelRequests: uint32().default(1024),
  maxParallelRetries: uint32().default(1024),
  maxRequestsPerConnection: uint32().optional(),
  perEndpoint: z.strictObject({ maxConnections: uint32().default(1024) }).optional(),
  retryBudget: z.strictObject({ percent: Fraction.optional(), minRetryConcurrency: uint32().optional() }).optional(),
});

export const Timeout = z.strictObject({
  tcp: z.strictObject({ connectTimeout: GoDuration.optional() }).optional(),
  http: z
    .strictObject({
      connectionIdleTimeout: GoDuration.optional(),
      maxConnectionDuration: GoDuration.optional(),
      requestTimeout: GoDuration.optional(),
      maxStreamDuration: GoDuration.optional(),
    })
    .optional(),
});

export const BackendConnection = z.strictObject({
  bufferLimit: Quantity.optional(),
  socketBufferLimit: Quantity.optional(),
  preconnect: z.strictObject({ perEndpointPercent: uint32().optional(), predictivePercent: uint32().optional() }).optional(),
});

export const DNS = z.strictObject({
  dnsRefreshRate: GoDuration.optional(),
  respectDnsTtl: z.boolean().optional(),
  lookupFamily: z.enum(['IPv4', 'IPv6', 'IPv4Preferred', 'IPv6Preferred', 'IPv4AndIPv6']).optional(),
});

export const HTTP2Settings = z.strictObject({
  initialStreamWindowSize: Quantity.optional(),
  initialConnectionWindowSize: Quantity.optional(),
  maxConcurrentStreams: int64(1, 2147483647).optional(),
  onInvalidMessage: z.enum(['TerminateConnection', 'TerminateStream']).optional(),
  connectionKeepalive: z
    .strictObject({
      interval: GoDuration.optional(),
      timeout: GoDuration.optional(),
      intervalJitter: int32(0, 100).optional(),
      idleInterval: GoDuration.optional(),
    })
    .optional(),
});

/** The settings of the cluster Envoy builds for a backend. */
export const clusterSettingsShape = {
  loadBalancer: LoadBalancer.optional(),
  retry: Retry.optional(),
  proxyProtocol: ProxyProtocol.optional(),
  tcpKeepalive: TCPKeepalive.optional(),
  healthCheck: HealthCheck.optional(),
  circuitBreaker: CircuitBreaker.optional(),
  timeout: Timeout.optional(),
  connection: BackendConnection.optional(),
  dns: DNS.optional(),
  http2: HTTP2Settings.optional(),
};
export const ClusterSettings = z.strictObject(clusterSettingsShape);
export type ClusterSettings = z.input<typeof ClusterSettings>;

/** One or more backends an extension talks to, and how. */
export const backendClusterShape = {
  backendRef: BackendObjectReference.optional(),
  backendRefs: list(BackendRef, 16).superRefine(backendRefKinds).optional(),
  backendSettings: ClusterSettings.optional(),
};
export const BackendCluster = z.strictObject(backendClusterShape);
export type BackendCluster = z.input<typeof BackendCluster>;

/** A string match: Exact (default), Prefix, Suffix, RegularExpression or Distinct. */
export const StringMatch = z.strictObject({
  type: z.enum(['Exact', 'Prefix', 'Suffix', 'RegularExpression']).default('Exact'),
  value: str({ min: 1, max: 1024 }),
});
export type StringMatch = z.input<typeof StringMatch>;

/** A reference to a ConfigMap or Secret key holding a value. */
export const LocalObjectKeyReference = z.strictObject({ group: Group, kind: Kind, name: ObjectName, key: str() });

/** A Secret in the same namespace. */
export const LocalSecretReference = z.strictObject({
  group: Group.default(''),
  kind: Kind.default('Secret'),
  name: ObjectName,
  namespace: Namespace.optional(),
});

/** Custom response bodies and headers (direct responses, response overrides). */
export const CustomResponseBody = z
  .strictObject({
    type: z.enum(['Inline', 'ValueRef']).default('Inline'),
    inline: str().optional(),
    valueRef: z.strictObject({ group: Group, kind: Kind, name: ObjectName }).optional(),
  })
  .superRefine(
    rule((b, fail) => {
      if ((b.type ?? 'Inline') === 'Inline' && b.inline === undefined) fail('inline is required when type is Inline', 'inline');
      if (b.type === 'ValueRef' && !b.valueRef) fail('valueRef is required when type is ValueRef', 'valueRef');
    }),
  );

const HeaderValue = z.strictObject({ name: HeaderName, value: str({ max: 4096 }) });
export const HeaderModifier = z.strictObject({
  set: list(HeaderValue, 16).optional(),
  add: list(HeaderValue, 16).optional(),
  remove: list(str(), 16).optional(),
});

export const CustomResponse = z.strictObject({
  contentType: str().optional(),
  body: CustomResponseBody.optional(),
  statusCode: int32(100, 599).optional(),
  header: HeaderModifier.optional(),
});
export type CustomResponse = z.input<typeof CustomResponse>;

/** TLS versions, ciphers, curves and ALPN for a TLS context (client or backend side). */
export const tlsSettingsShape = {
  minVersion: z.enum(['Auto', '1.0', '1.1', '1.2', '1.3']).optional(),
  maxVersion: z.enum(['Auto', '1.0', '1.1', '1.2', '1.3']).optional(),
  ciphers: list(str()).optional(),
  ecdhCurves: list(str()).optional(),
  signatureAlgorithms: list(str()).optional(),
  alpnProtocols: list(str()).optional(),
};

/** The TLS settings a policy or proxy uses towards backends (all optional). */
export const tlsVersionOrder = rule<{ minVersion?: string; maxVersion?: string }>((t, fail) => {
  const rank = (v?: string) => (v && v !== 'Auto' ? Number(v) : undefined);
  const min = rank(t.minVersion);
  const max = rank(t.maxVersion);
  if (min !== undefined && max !== undefined && min > max) fail('minVersion may not be above maxVersion', 'minVersion');
});

export const TLSSettings = z.strictObject(tlsSettingsShape).superRefine(tlsVersionOrder);

export const KeyValue = stringMap(z.string());

/** A compressor: gzip, brotli or zstd, with the settings of the one chosen. */
export const Compression = z.strictObject({
  type: z.enum(['Gzip', 'Brotli', 'Zstd']),
  gzip: z.strictObject({}).optional(),
  brotli: z.strictObject({}).optional(),
  zstd: z.strictObject({}).optional(),
  minContentLength: Quantity.optional(),
});
export type Compression = z.input<typeof Compression>;
