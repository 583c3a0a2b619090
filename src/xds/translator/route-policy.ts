// Per-route upstream policies: retries and the hash policies that consistent hashing needs.
import type { LoadBalancer, Retry } from '../../ir/xds.js';
import { protoDuration, typed, type Msg } from './util.js';

/** What Envoy Gateway retries on when a policy asks for retries without saying on what. */
const defaultRetryOn = 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

/** Envoy's retry_on conditions (HTTP and gRPC). */
const retryTriggers = new Set([
  '5xx', 'gateway-error', 'reset', 'reset-before-request', 'connect-failure', 'envoy-ratelimited', 'retriable-4xx',
  'refused-stream', 'retriable-status-codes', 'retriable-headers', 'http3-post-connect-failure',
  'cancelled', 'deadline-exceeded', 'internal', 'resource-exhausted', 'unavailable',
]);

export class RouteError extends Error {}

/** A route's retry policy. Throws RouteError for a trigger Envoy does not know. */
export function buildRetryPolicy(r: Retry | undefined): Msg | undefined {
  if (!r) return undefined;
  const triggers = r.retryOn?.triggers ?? [];
  for (const t of triggers) if (!retryTriggers.has(t)) throw new RouteError(`unsupported retry trigger ${JSON.stringify(t)}`);
  const p: Msg = {};
  p.retryOn = triggers.length ? triggers.join(',') : defaultRetryOn;
  p.numRetries = r.numRetries ?? 2;
  const per = r.perRetry;
  if (per?.timeout) p.perTryTimeout = protoDuration(per.timeout);
  const codes = r.retryOn?.httpStatusCodes;
  if (codes?.length) p.retriableStatusCodes = [...codes];
  else if (!triggers.length) p.retriableStatusCodes = [503];
  if (per?.backOff) {
    const b: Msg = {};
    if (per.backOff.baseInterval) b.baseInterval = protoDuration(per.backOff.baseInterval);
    if (per.backOff.maxInterval) b.maxInterval = protoDuration(per.backOff.maxInterval);
    p.retryBackOff = b;
  }
  p.retryHostPredicate = [{
    name: 'envoy.retry_host_predicates.previous_hosts',
    typedConfig: typed('envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate'),
  }];
  p.hostSelectionRetryMaxAttempts = '5';
  return p;
}

/** The hash policies consistent hashing (Maglev) hashes requests with. */
export function buildHashPolicies(lb: LoadBalancer | undefined): Msg[] | undefined {
  const ch = lb?.consistentHash;
  if (!ch) return undefined;
  const out: Msg[] = [];
  if (ch.sourceIP) out.push({ connectionProperties: { sourceIp: true } });
  for (const h of ch.headers ?? []) out.push({ header: { headerName: h.name } });
  if (ch.cookie) {
    const c: Msg = { name: ch.cookie.name };
    if (ch.cookie.ttl) c.ttl = protoDuration(ch.cookie.ttl);
    if (ch.cookie.attributes) {
      c.attributes = Object.entries(ch.cookie.attributes).map(([name, value]) => ({ name, value }));
    }
    out.push({ cookie: c });
  }
  for (const q of ch.queryParams ?? []) out.push({ queryParameter: { name: q.name } });
  return out.length ? out : undefined;
}
