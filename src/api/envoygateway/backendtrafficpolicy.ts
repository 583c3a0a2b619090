// BackendTrafficPolicy: how the proxy treats the backends of its targets (load balancing,
// retries, health checks, circuit breakers, timeouts, rate limits, fault injection,
// compression, response overrides, upgrades, buffering, bandwidth).
import { resource } from '../meta.js';
import { int32, list, rule, str, z } from '../schema.js';
import { HTTPPathModifier } from '../gatewayapi/httpfilters.js';
import { PolicyStatus, PortNumber, PreciseHostname } from '../gatewayapi/shared.js';
import { RateLimitSpec } from './ratelimit.js';
import { clusterSettingsShape, Compression, CustomResponse, MergeType, policyTargets, policyTargetShape, Quantity } from './shared.js';

export const FaultInjection = z
  .strictObject({
    delay: z.strictObject({ fixedDelay: str({ min: 1 }), percentage: z.number().min(0).max(100).optional() }).optional(),
    abort: z
      .strictObject({ httpStatus: int32(200, 600).optional(), grpcStatus: int32(0, 16).optional(), percentage: z.number().min(0).max(100).optional() })
      .superRefine(
        rule((a, fail) => {
          if (a.httpStatus !== undefined && a.grpcStatus !== undefined) fail('give httpStatus or grpcStatus, not both', 'grpcStatus');
          if (a.httpStatus === undefined && a.grpcStatus === undefined) fail('httpStatus or grpcStatus is required', 'httpStatus');
        }),
      )
      .optional(),
  })
  .superRefine(
    rule((f, fail) => {
      if (!f.delay && !f.abort) fail('delay or abort is required');
    }),
  );

const StatusCodeMatch = z
  .strictObject({
    type: z.enum(['Value', 'Range']).default('Value'),
    value: int32().optional(),
    range: z
      .strictObject({ start: int32(), end: int32() })
      .superRefine(rule((r, fail) => (r.start > r.end ? fail('start may not exceed end', 'start') : undefined)))
      .optional(),
  })
  .superRefine(
    rule((m, fail) => {
      if ((m.type ?? 'Value') === 'Value' && m.value === undefined) fail('value is required when type is Value', 'value');
      if (m.type === 'Range' && !m.range) fail('range is required when type is Range', 'range');
      if ((m.type ?? 'Value') === 'Value' && m.range) fail('range may only be set when type is Range', 'range');
      if (m.type === 'Range' && m.value !== undefined) fail('value may only be set when type is Value', 'value');
    }),
  );

export const ResponseOverride = z
  .strictObject({
    match: z
      .strictObject({
      statusCodes: list(StatusCodeMatch, 50).optional(),
      responseHeaders: list(
        z.strictObject({
          name: str({ min: 1 }),
          value: z.strictObject({ type: z.enum(['Exact', 'Prefix', 'Suffix', 'RegularExpression']).default('Exact'), value: str({ min: 1 }) }),
        }),
      ).optional(),
      })
      .superRefine(rule((m, fail) => (!m.statusCodes?.length && !m.responseHeaders?.length ? fail('statusCodes or responseHeaders is required', 'statusCodes') : undefined))),
    response: CustomResponse.optional(),
    redirect: z
      .strictObject({
        scheme: z.enum(['http', 'https']).optional(),
        hostname: PreciseHostname.optional(),
        path: HTTPPathModifier.optional(),
        port: PortNumber.optional(),
        statusCode: z.literal([301, 302]).default(302),
      })
      .optional(),
    source: z.enum(['Local', 'Backend', 'All']).optional(),
  })
  .superRefine(
    rule((o, fail) => {
      if (o.response && o.redirect) fail('give response or redirect, not both', 'redirect');
    }),
  );

const BandwidthLimit = z.strictObject({ value: Quantity, unit: z.enum(['Second', 'Minute', 'Hour']) });

export const BackendTrafficPolicySpec = z
  .strictObject({
    ...policyTargetShape,
    ...clusterSettingsShape,
    mergeType: MergeType.optional(),
    rateLimit: RateLimitSpec.optional(),
    faultInjection: FaultInjection.optional(),
    useClientProtocol: z.boolean().optional(),
    /** Deprecated in favour of compressor. */
    compression: list(Compression).optional(),
    compressor: list(Compression).optional(),
    responseOverride: list(ResponseOverride).optional(),
    httpUpgrade: list(z.strictObject({ type: str({ min: 1 }), connect: z.strictObject({ terminate: z.boolean().optional() }).optional() })).optional(),
    requestBuffer: z.strictObject({ limit: Quantity }).optional(),
    telemetry: z
      .strictObject({
        tracing: z
          .strictObject({
            samplingFraction: z.strictObject({ numerator: int32(0), denominator: int32(1).default(100) }).optional(),
            clientSamplingFraction: z.strictObject({ numerator: int32(0), denominator: int32(1).default(100) }).optional(),
            overallSamplingFraction: z.strictObject({ numerator: int32(0), denominator: int32(1).default(100) }).optional(),
            customTags: z.record(z.string(), z.unknown()).optional(),
            tags: z.record(z.string(), z.string()).optional(),
            spanName: z.strictObject({ client: str(), server: str() }).optional(),
          })
          .optional(),
        metrics: z.strictObject({ routeStatName: str().optional() }).optional(),
      })
      .optional(),
    routingType: z.enum(['Service', 'Endpoint']).optional(),
    /** Admission control settings (their fields pass through unchecked here). */
    admissionControl: z.looseObject({}).optional(),
    bandwidthLimit: z
      .strictObject({
        request: z.strictObject({ limit: BandwidthLimit }).optional(),
        response: z.strictObject({ limit: BandwidthLimit, responseTrailers: z.strictObject({ prefix: str().optional() }).optional() }).optional(),
      })
      .optional(),
  })
  .superRefine(policyTargets)
  .superRefine(
    rule((s, fail) => {
      if (s.compression && s.compressor) fail('give compressor or the deprecated compression, not both', 'compressor');
    }),
  );
export type BackendTrafficPolicySpec = z.input<typeof BackendTrafficPolicySpec>;

export const BackendTrafficPolicy = resource('BackendTrafficPolicy', { spec: BackendTrafficPolicySpec, status: PolicyStatus.optional() });
export type BackendTrafficPolicy = z.input<typeof BackendTrafficPolicy>;
