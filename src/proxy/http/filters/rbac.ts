// envoy.filters.http.rbac in its matcher form, as Envoy Gateway's authorization (and its dynamic
// forward proxy's loopback guard) writes it: the first matching rule's action decides (ALLOW and
// LOG let the request through, DENY answers 403 "RBAC: access denied"), on_no_match otherwise,
// and no decision at all denies. The route's RBACPerRoute replaces the filter's policy (an empty
// one turns the filter off there); a filter without a policy lets everything through. A shadow
// matcher is evaluated for stats and dynamic metadata only. The classic rules form is refused.
import { ConfigError } from '../../config/errors.js';
import { at, enumOf, obj, str, type Json } from '../../config/json.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import type { HttpStream } from '../stream.js';
import { FilterStats } from './auth_common.js';
import { compileHttpMatcher, type HttpMatcher } from './http_matcher.js';

const ACTION = 'envoy.config.rbac.v3.Action';

interface Decision { name: string; allow: boolean }

interface Engine {
  matcher: HttpMatcher<Decision> | undefined;
  shadow: HttpMatcher<Decision> | undefined;
  /** Prefix of the per-rule shadow metadata keys (rules_stat_prefix / shadow_rules_stat_prefix). */
  shadowPrefix: string;
}

function compileAction(type: string, c: Json, path: string): Decision {
  if (type !== ACTION) throw new ConfigError(path, `unsupported RBAC action ${type}`);
  const action = enumOf(c, 'action', path, ['ALLOW', 'DENY', 'LOG'] as const, 'ALLOW');
  return { name: str(c, 'name', path), allow: action !== 'DENY' };
}

function compileEngine(c: Json, path: string): Engine {
  for (const classic of ['rules', 'shadowRules'] as const) {
    if (obj(c, classic, path)) throw new ConfigError(at(path, classic), 'the classic RBAC rules form is not supported by this proxy\'s HTTP RBAC filter; use matcher');
  }
  const m = obj(c, 'matcher', path);
  const sm = obj(c, 'shadowMatcher', path);
  return {
    matcher: m ? compileHttpMatcher(m, at(path, 'matcher'), compileAction) : undefined,
    shadow: sm ? compileHttpMatcher(sm, at(path, 'shadowMatcher'), compileAction) : undefined,
    shadowPrefix: str(c, 'shadowRulesStatPrefix', path),
  };
}

/** RBACPerRoute: its rbac replaces the filter's; without one the filter is off for the route. */
function parsePerRoute(c: Json, path: string): Engine | null {
  const r = obj(c, 'rbac', path);
  return r ? compileEngine(r, at(path, 'rbac')) : null;
}

const FILTER = 'envoy.filters.http.rbac';
const STATS = ['allowed', 'denied', 'shadow_allowed', 'shadow_denied'] as const;

class RbacFilter implements HttpFilter {
  private readonly stats = new FilterStats('rbac.', STATS);

  constructor(readonly name: string, private readonly engine: Engine) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const pf = s.perFilterConfig(this.name);
    const engine = pf ? (pf.config as Engine | null) : this.engine;
    if (!engine || (!engine.matcher && !engine.shadow)) return FilterStatus.Continue;
    const stats = this.stats.of(s);
    if (engine.shadow) {
      const d = engine.shadow(s);
      const allow = d?.allow ?? false;
      (allow ? stats.shadow_allowed : stats.shadow_denied).value++;
      const md = ((s.dynamicMetadata ??= {})[FILTER] ??= {});
      if (d?.name) md[`${engine.shadowPrefix}shadow_effective_policy_id`] = d.name;
      md[`${engine.shadowPrefix}shadow_engine_result`] = allow ? 'allowed' : 'denied';
    }
    if (!engine.matcher) return FilterStatus.Continue;
    const d = engine.matcher(s);
    if (d?.allow) { stats.allowed.value++; return FilterStatus.Continue; }
    stats.denied.value++;
    s.sendLocalReply(403, 'RBAC: access denied', `rbac_access_denied_matched_policy[${d?.name ?? 'none'}]`);
    return FilterStatus.Stop;
  }
}

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.rbac.v3.RBAC',
  create: (name: string, c: Json, path: string) => new RbacFilter(name, compileEngine(c, path)),
  perRoute: { 'envoy.extensions.filters.http.rbac.v3.RBACPerRoute': parsePerRoute },
});
