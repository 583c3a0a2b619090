// Local rate limiting (BackendTrafficPolicy rateLimit.local): token buckets kept by each proxy.
// The listener's connection manager gets one local_ratelimit filter with no bucket of its own;
// each limited route configures it: the default bucket, and one bucket per rule under the
// descriptor entries its actions produce (the same actions as global rate limits, src/xds/ratelimit).
import type { HTTPRoute, RateLimitValue } from '../../../ir/xds.js';
import { buildRuleActions, hitsAddend, unitSecondsOf } from '../../ratelimit/actions.js';
import { typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.local_ratelimit';
const configType = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';
const statPrefix = 'http_local_rate_limiter';
/** Bound on the buckets created on the fly for distinct values (headers, client addresses). */
const maxDynamicDescriptors = 10000;

function tokenBucket(v: RateLimitValue | undefined): Msg {
  const n = v?.requests ?? 0;
  return { maxTokens: n, tokensPerFill: n, fillInterval: `${unitSecondsOf(v?.unit)}s` };
}

function localOf(r: HTTPRoute) {
  return r.traffic?.rateLimit?.local;
}

const always = { defaultValue: { numerator: 100 } };

export const localRateLimit: HTTPFeature = {
  filters(l) {
    if (!l.routes?.some(localOf)) return [];
    return [{ name: filterType, typedConfig: typed(configType, { statPrefix, maxDynamicDescriptors }) }];
  },
  perRoute(r, l) {
    const local = localOf(r);
    if (!local || !r.destination) return undefined;
    const cfg: Msg = { statPrefix, tokenBucket: tokenBucket(local.default), filterEnabled: always, filterEnforced: always };
    const rateLimits: Msg[] = [];
    const descriptors: Msg[] = [];
    (local.rules ?? []).forEach((rule, i) => {
      const { actions, entries } = buildRuleActions(rule, i, 'local');
      const rl: Msg = { actions };
      if (rule.requestCost) rl.hitsAddend = hitsAddend(rule.requestCost);
      rateLimits.push(rl);
      if (rule.responseCost) rateLimits.push({ actions, applyOnStreamDone: true, hitsAddend: hitsAddend(rule.responseCost) });
      const d: Msg = { entries: entries.map((e) => (e.value === undefined ? { key: e.key } : { key: e.key, value: e.value })), tokenBucket: tokenBucket(rule.limit) };
      if (rule.shadowMode) d.shadowMode = true;
      descriptors.push(d);
    });
    if (descriptors.length) cfg.descriptors = descriptors;
    if (!l.headers?.disableRateLimitHeaders) cfg.enableXRatelimitHeaders = 'DRAFT_VERSION_03';
    if (rateLimits.length) cfg.rateLimits = rateLimits;
    return { [filterType]: typed(configType, cfg) };
  },
};
