// HTTPRoute rule retries (Gateway API GEP-1731) as the IR route's own retry policy. The xds
// translator prefers it to a BackendTrafficPolicy's retry (the IR route's `traffic.retry`), and
// fills in Envoy Gateway's defaults for what it leaves out: two retries, retried on connect
// failures, refused streams, unavailable and cancelled gRPC status, and retriable status codes.
import type { HTTPRouteRule } from '../api/gatewayapi/index.js';
import type { Retry } from '../ir/traffic.js';
import { formatDuration, parseDuration } from './duration.js';

/** The IR retry of one rule, or undefined when the rule sets none. */
export function routeRetry(rule: Pick<HTTPRouteRule, 'retry' | 'timeouts'>): Retry | undefined {
  const retry = rule.retry;
  if (!retry) return undefined;
  const out: Retry = {};
  if (retry.attempts != null) out.numRetries = retry.attempts;
  const backoff = parseDuration(retry.backoff);
  if (backoff !== undefined) out.perRetry = { backOff: { baseInterval: formatDuration(backoff) } };
  // GEP-1742: with retries, timeouts.backendRequest bounds each try rather than the request.
  const perTry = parseDuration(rule.timeouts?.backendRequest);
  if (perTry !== undefined) (out.perRetry ??= {}).timeout = formatDuration(perTry);
  if (retry.codes?.length) out.retryOn = { httpStatusCodes: [...retry.codes] };
  return out;
}
