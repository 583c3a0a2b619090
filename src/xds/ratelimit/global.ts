// Global rate limiting, the one source of its descriptors: for each route, the rate limits Envoy
// sends to the rate limit service (per domain), and for the service, the configuration it reads
// (one per domain) with the limits under the same descriptor chains.
//
// Domains: a listener's own rules live in a domain named after the listener, under a descriptor
// per route (each route has its own buckets). A rule marked `shared` lives in the domain of its
// policy (`<namespace>/<name>`), under a descriptor named after the rule, so every route and
// listener the policy applies to counts against the same buckets.
import type { HTTPListener, HTTPRoute, RateLimitRule, Xds } from '../../ir/xds.js';
import type { Msg } from '../translator/util.js';
import { buildRuleActions, hitsAddend, rateLimitUnit } from './actions.js';

/** The rate limits of one route in one domain (envoy.config.route.v3.RateLimit, proto3 JSON). */
export interface DomainRateLimits {
  domain: string;
  rateLimits: Msg[];
}

/** A descriptor of the rate limit service's configuration (its YAML field names). */
export interface ServiceDescriptor {
  key: string;
  value?: string;
  rate_limit?: { requests_per_unit: number; unit: string };
  descriptors?: ServiceDescriptor[];
  shadow_mode?: boolean;
}

/** The rate limit service's configuration for one domain. */
export interface RateLimitServiceConfig {
  name: string;
  domain: string;
  descriptors: ServiceDescriptor[];
}

/** The rules of a route that the global rate limit service enforces. */
export function globalRules(r: HTTPRoute): RateLimitRule[] {
  return r.traffic?.rateLimit?.global?.rules ?? [];
}

/** The policy a shared rule belongs to: its name without the `/rule/<index>` suffix. */
function sharedDomain(rule: RateLimitRule): string | undefined {
  if (!rule.shared || !rule.name) return undefined;
  const i = rule.name.lastIndexOf('/rule/');
  return i > 0 ? rule.name.slice(0, i) : rule.name;
}

/** The domain a rule of this listener's route is counted in. */
export function ruleDomain(l: HTTPListener, rule: RateLimitRule): string {
  return sharedDomain(rule) ?? l.name;
}

/** A route's rules grouped by domain, the listener's own domain first, each with its index there. */
function rulesByDomain(l: HTTPListener, r: HTTPRoute): Map<string, RateLimitRule[]> {
  const out = new Map<string, RateLimitRule[]>();
  const rules = globalRules(r);
  if (rules.some((rule) => !sharedDomain(rule))) out.set(l.name, []);
  for (const rule of rules) {
    const d = ruleDomain(l, rule);
    let list = out.get(d);
    if (!list) out.set(d, (list = []));
    list.push(rule);
  }
  return out;
}

/** The rate limits a route sends, per domain (empty when the route has no global rules). */
export function routeRateLimits(l: HTTPListener, r: HTTPRoute): DomainRateLimits[] {
  const out: DomainRateLimits[] = [];
  for (const [domain, rules] of rulesByDomain(l, r)) {
    const shared = domain !== l.name;
    const rateLimits: Msg[] = [];
    rules.forEach((rule, i) => {
      // The first entry picks the route's (or the shared rule's) descriptor in the domain.
      const top = shared ? rule.name! : r.name;
      const actions = [{ genericKey: { descriptorKey: top, descriptorValue: top } }, ...buildRuleActions(rule, i).actions];
      // The limit itself may come from dynamic metadata set earlier in the request.
      const md = rule.limit.fromMetadata;
      const limit = md ? { dynamicMetadata: { metadataKey: { key: md.namespace, path: [{ key: md.key }] } } } : undefined;
      const request: Msg = { actions };
      if (rule.requestCost) request.hitsAddend = hitsAddend(rule.requestCost);
      if (limit) request.limit = limit;
      rateLimits.push(request);
      // A response cost is counted again when the stream is done.
      if (rule.responseCost) {
        const response: Msg = { actions, applyOnStreamDone: true, hitsAddend: hitsAddend(rule.responseCost) };
        if (limit) response.limit = limit;
        rateLimits.push(response);
      }
    });
    out.push({ domain, rateLimits });
  }
  return out;
}

/** The descriptor chain of one rule, the limit on its innermost entry. */
function ruleDescriptor(rule: RateLimitRule, index: number): ServiceDescriptor {
  const { entries } = buildRuleActions(rule, index);
  let inner: ServiceDescriptor | undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    const d: ServiceDescriptor = { key: e.key };
    if (e.value !== undefined) d.value = e.value;
    if (inner) d.descriptors = [inner];
    else d.rate_limit = { requests_per_unit: rule.limit.requests ?? 0, unit: rateLimitUnit(rule.limit.unit) };
    if (rule.shadowMode) d.shadow_mode = true;
    inner = d;
  }
  return inner!;
}

/**
 * The rate limit service's configurations for a whole IR: per listener, its own domain first, then
 * the shared domains in the order first met. A shared domain seen on several listeners is one
 * configuration, and each shared rule is described once in it.
 */
export function buildRateLimitServiceConfigs(ir: Pick<Xds, 'http'>): RateLimitServiceConfig[] {
  const out: RateLimitServiceConfig[] = [];
  const shared = new Map<string, { config: RateLimitServiceConfig; rules: Set<string> }>();
  for (const l of ir.http ?? []) {
    const own: RateLimitServiceConfig = { name: l.name, domain: l.name, descriptors: [] };
    const met: RateLimitServiceConfig[] = [];
    for (const r of l.routes ?? []) {
      for (const [domain, rules] of rulesByDomain(l, r)) {
        if (domain === l.name) {
          own.descriptors.push({ key: r.name, value: r.name, descriptors: rules.map(ruleDescriptor) });
          continue;
        }
        let s = shared.get(domain);
        if (!s) {
          s = { config: { name: domain, domain, descriptors: [] }, rules: new Set() };
          shared.set(domain, s);
          met.push(s.config);
        }
        rules.forEach((rule, i) => {
          if (s.rules.has(rule.name!)) return;
          s.rules.add(rule.name!);
          s.config.descriptors.push({ key: rule.name!, value: rule.name!, descriptors: [ruleDescriptor(rule, i)] });
        });
      }
    }
    if (own.descriptors.length) out.push(own);
    out.push(...met);
  }
  return out;
}
