// The ratelimit golden suite: each case is one xDS IR (or a single HTTP listener); the output is
// the global rate limit service's configuration per domain and, per route, the rate limit
// actions by domain. The reference records the actions as Go's encoding/json renders
// go-control-plane's structs (oneof wrappers, snake_case, wrapped scalars); that rendering is
// done here, from the same proto3 JSON messages the xds translator puts on routes.
import { parse } from 'yaml';
import type { HTTPListener, Xds } from '../../ir/xds.js';
import { buildRateLimitServiceConfigs, globalRules, routeRateLimits } from '../../xds/ratelimit/global.js';
import type { Msg } from '../../xds/translator/util.js';
import type { Suite } from './main.js';

/** A StringMatcher as Go renders it: the pattern under its oneof. */
function goStringMatcher(m: Msg): Msg {
  const pattern: Msg = {};
  if (m.exact !== undefined) pattern.Exact = m.exact;
  else if (m.prefix !== undefined) pattern.Prefix = m.prefix;
  else if (m.suffix !== undefined) pattern.Suffix = m.suffix;
  else if (m.safeRegex !== undefined) pattern.SafeRegex = { regex: m.safeRegex.regex };
  else if (m.contains !== undefined) pattern.Contains = m.contains;
  const out: Msg = { MatchPattern: pattern };
  if (m.ignoreCase) out.ignore_case = true;
  return out;
}

function goHeaderMatcher(h: Msg): Msg {
  const out: Msg = { name: h.name };
  if (h.stringMatch) out.HeaderMatchSpecifier = { StringMatch: goStringMatcher(h.stringMatch) };
  if (h.invertMatch) out.invert_match = true;
  return out;
}

function goAction(a: Msg): Msg {
  if (a.genericKey) {
    return { GenericKey: { descriptor_key: a.genericKey.descriptorKey, descriptor_value: a.genericKey.descriptorValue } };
  }
  if (a.requestHeaders) {
    return { RequestHeaders: { header_name: a.requestHeaders.headerName, descriptor_key: a.requestHeaders.descriptorKey } };
  }
  if (a.headerValueMatch) {
    const h = a.headerValueMatch;
    return {
      HeaderValueMatch: {
        descriptor_key: h.descriptorKey,
        descriptor_value: h.descriptorValue,
        expect_match: { value: h.expectMatch },
        headers: h.headers.map(goHeaderMatcher),
      },
    };
  }
  if (a.queryParameterValueMatch) {
    const q = a.queryParameterValueMatch;
    return {
      QueryParameterValueMatch: {
        descriptor_key: q.descriptorKey,
        descriptor_value: q.descriptorValue,
        expect_match: { value: q.expectMatch },
        query_parameters: q.queryParameters.map((p: Msg) => ({
          name: p.name,
          QueryParameterMatchSpecifier: { StringMatch: goStringMatcher(p.stringMatch) },
        })),
      },
    };
  }
  if (a.remoteAddressMatch) {
    const r = a.remoteAddressMatch;
    const matcher: Msg = {
      ranges: r.addressMatcher.ranges.map((c: Msg) => ({ address_prefix: c.addressPrefix, prefix_len: { value: c.prefixLen } })),
    };
    if (r.addressMatcher.invertMatch) matcher.invert_match = true;
    return { RemoteAddressMatch: { address_matcher: matcher, descriptor_key: r.descriptorKey, descriptor_value: r.descriptorValue } };
  }
  if (a.remoteAddress) return { RemoteAddress: {} };
  throw new Error(`ratelimit: no Go rendering for action ${JSON.stringify(a)}`);
}

function goRateLimit(rl: Msg): Msg {
  const out: Msg = { actions: rl.actions.map((a: Msg) => ({ ActionSpecifier: goAction(a) })) };
  if (rl.hitsAddend) {
    const h: Msg = {};
    if (rl.hitsAddend.number !== undefined) h.number = { value: Number(rl.hitsAddend.number) };
    if (rl.hitsAddend.format !== undefined) h.format = rl.hitsAddend.format;
    out.hits_addend = h;
  }
  if (rl.applyOnStreamDone) out.apply_on_stream_done = true;
  return out;
}

/** A case's listeners: an xDS IR's HTTP listeners, or the one listener the case consists of. */
function listenersOf(doc: unknown): HTTPListener[] {
  const d = (doc ?? {}) as Record<string, unknown>;
  if (Array.isArray(d.http)) return d.http as HTTPListener[];
  if (typeof d.name === 'string' && Array.isArray(d.routes)) return [d as unknown as HTTPListener];
  return [];
}

export const ratelimitSuite: Suite = {
  runCase(_name: string, input: string): unknown {
    const http = listenersOf(parse(input));
    const routes: Msg[] = [];
    for (const l of http) {
      for (const r of l.routes ?? []) {
        if (!globalRules(r).length) continue;
        const byDomain: Record<string, Msg[]> = {};
        for (const d of routeRateLimits(l, r)) byDomain[d.domain] = d.rateLimits.map(goRateLimit);
        routes.push({ routeName: r.name, rateLimitsByDomain: byDomain });
      }
    }
    return { configs: buildRateLimitServiceConfigs({ http } as Xds), routeRateLimits: routes };
  },
};
