// The rate limit actions of one rule and the descriptor entries they produce. Envoy turns each
// action into one descriptor entry (key/value) when it matches; the rate limit service (global)
// or the local_ratelimit filter (local) then finds the limit under that chain of entries. Both
// sides are built here from the same walk over the rule, so actions and descriptors agree.
import type { RateLimitCost, RateLimitRule, StringMatch } from '../../ir/xds.js';
import type { Msg } from '../translator/util.js';

/** One descriptor entry a rule's action yields: a value of undefined matches any value. */
export interface DescriptorEntry {
  key: string;
  value?: string;
}

/** A rule's actions (proto3 JSON of envoy.config.route.v3.RateLimit.Action) and their entries. */
export interface RuleActions {
  actions: Msg[];
  entries: DescriptorEntry[];
}

/** Envoy's formatter for the client address: one bucket per address. */
const remoteAddressValue = '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%';

/** `rule-<rule>-match-<match>`: the descriptor of one match of a rule (-1: the rule matches all). */
export function ruleMatchDescriptor(rule: number, match: number): string {
  return `rule-${rule}-match-${match}`;
}

/** A string matcher (envoy.type.matcher.v3.StringMatcher) for a rate limit match. */
function stringMatcher(m: StringMatch): Msg {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.suffix !== undefined) return { suffix: m.suffix };
  if (m.safeRegex !== undefined) return { safeRegex: { regex: m.safeRegex } };
  if (m.contains !== undefined) return { contains: m.contains };
  return {};
}

/** A header value match action on a header (or pseudo-header) whose descriptor is `key`. */
function headerValueMatch(name: string, m: StringMatch, key: string): Msg {
  return {
    headerValueMatch: {
      descriptorKey: key,
      descriptorValue: key,
      expectMatch: !m.invert,
      headers: [{ name, stringMatch: stringMatcher(m) }],
    },
  };
}

/** `192.168.0.0/16` → address prefix and length (the IR's maskLen wins when present). */
function cidrRange(cidr: string, maskLen: number | undefined): Msg {
  const [prefix, len] = cidr.split('/');
  return { addressPrefix: prefix, prefixLen: maskLen ?? Number(len ?? 0) };
}

/**
 * How client address entries are keyed: the rate limit service nests each rule's entries under
 * its own descriptor, so `masked_remote_address`/`remote_address` suffice there ('global'); the
 * local rate limiter matches flat entry lists, so each rule's keys carry its index ('local').
 */
export type AddressKeys = 'global' | 'local';

/**
 * The actions of rule number `index` in its list, in the order Envoy evaluates them: header
 * matches, query parameter matches, method matches, the path, the client address, or a constant
 * key when the rule selects every request. A rule whose actions do not all match produces no
 * descriptor, so the limit only applies to requests the rule selects.
 */
export function buildRuleActions(rule: RateLimitRule, index: number, keys: AddressKeys = 'global'): RuleActions {
  const actions: Msg[] = [];
  const entries: DescriptorEntry[] = [];
  let m = 0;
  for (const h of rule.headerMatches ?? []) {
    const key = ruleMatchDescriptor(index, m++);
    if (h.distinct) {
      // Every value of the header gets a bucket of its own.
      actions.push({ requestHeaders: { headerName: h.name ?? '', descriptorKey: key } });
      entries.push({ key });
    } else {
      actions.push(headerValueMatch(h.name ?? '', h, key));
      entries.push({ key, value: key });
    }
  }
  for (const q of rule.queryParamMatches ?? []) {
    const key = ruleMatchDescriptor(index, m++);
    actions.push({
      queryParameterValueMatch: {
        descriptorKey: key,
        descriptorValue: key,
        expectMatch: !q.invert,
        queryParameters: [{ name: q.name ?? '', stringMatch: stringMatcher(q) }],
      },
    });
    entries.push({ key, value: key });
  }
  rule.methodMatches?.forEach((meth, i) => {
    const key = `rule-${index}-method-${i}`;
    actions.push(headerValueMatch(':method', meth, key));
    entries.push({ key, value: key });
  });
  if (rule.pathMatch) {
    const key = `rule-${index}-path`;
    actions.push(headerValueMatch(':path', rule.pathMatch, key));
    entries.push({ key, value: key });
  }
  const c = rule.cidrMatch;
  if (c) {
    // The outer entry selects the range; with distinct, an inner entry per client address.
    const range = cidrRange(c.cidr, c.maskLen);
    const matcher: Msg = { ranges: [range] };
    if (c.invert) matcher.invertMatch = true;
    const value = c.invert ? `invert:${c.cidr}` : c.cidr;
    const masked = keys === 'local' ? `rule-${index}-masked-remote-address` : 'masked_remote_address';
    actions.push({ remoteAddressMatch: { addressMatcher: matcher, descriptorKey: masked, descriptorValue: value } });
    entries.push({ key: masked, value });
    if (c.distinct) {
      const remote = keys === 'local' ? `rule-${index}-remote-address` : 'remote_address';
      actions.push({ remoteAddressMatch: { addressMatcher: { ranges: [range] }, descriptorKey: remote, descriptorValue: remoteAddressValue } });
      entries.push({ key: remote });
    }
  }
  if (!actions.length) {
    const key = ruleMatchDescriptor(index, -1);
    actions.push({ genericKey: { descriptorKey: key, descriptorValue: key } });
    entries.push({ key, value: key });
  }
  return { actions, entries };
}

/** A rate limit unit as Envoy's and the rate limit service's enums spell it ("Hour" → "HOUR"). */
export function rateLimitUnit(unit: string | undefined): string {
  return (unit ?? 'second').toUpperCase();
}

const unitSeconds: Record<string, number> = { SECOND: 1, MINUTE: 60, HOUR: 3600, DAY: 86400, MONTH: 30 * 86400, YEAR: 365 * 86400 };

/** The refill period of a limit's unit, in seconds. */
export function unitSecondsOf(unit: string | undefined): number {
  return unitSeconds[rateLimitUnit(unit)] ?? 1;
}

/** How much a request (or, when the stream is done, a response) takes from the bucket. */
export function hitsAddend(c: RateLimitCost): Msg {
  const h: Msg = {};
  if (c.number !== undefined && c.number !== null) h.number = String(c.number);
  if (c.format !== undefined && c.format !== null) h.format = c.format;
  return h;
}
