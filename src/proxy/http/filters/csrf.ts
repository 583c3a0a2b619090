// envoy.filters.http.csrf: a state-changing request (POST, PUT, DELETE, PATCH) must come from
// the page's own origin: its Origin (or, without one, its Referer) must name the host it is
// sent to, or match one of the additional origins. Otherwise 403 "Invalid origin", unless the
// policy only shadows (counts) for this request. The policy is the route's, else the virtual
// host's, else the filter's; filter_enabled and shadow_enabled are sampled per request.
import { at, list, obj, type Json } from '../../config/json.js';
import { fraction } from '../../config/json.js';
import { compileStringMatcher, type StringMatch } from '../../router/string_match.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { FilterStats } from './auth_common.js';

interface CsrfPolicy {
  /** Probability that the policy is enforced for a request. */
  enabled: number;
  /** Probability that it is evaluated for stats only; -1 when not configured. */
  shadow: number;
  additionalOrigins: StringMatch[];
}

function parsePolicy(c: Json, path: string): CsrfPolicy {
  const fe = obj(c, 'filterEnabled', path);
  const se = obj(c, 'shadowEnabled', path);
  return {
    enabled: fe ? fraction(fe, at(path, 'filterEnabled')) : 0,
    shadow: se ? fraction(se, at(path, 'shadowEnabled')) : -1,
    additionalOrigins: list(c, 'additionalOrigins', path).map((m: Json, i: number) => compileStringMatcher(m, at(at(path, 'additionalOrigins'), i))),
  };
}

const sample = (p: number) => p >= 1 || (p > 0 && Math.random() < p);

/** host[:port] of an absolute URL, or the value itself when it is not one. */
function hostAndPort(v: string | undefined): string {
  if (!v) return '';
  const scheme = v.indexOf('://');
  if (scheme < 0) return v;
  const rest = v.slice(scheme + 3);
  const end = rest.search(/[/?#]/);
  return end < 0 ? rest : rest.slice(0, end);
}

const MODIFY = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
const STATS = ['missing_source_origin', 'request_invalid', 'request_valid'] as const;

class CsrfFilter implements HttpFilter {
  private readonly stats = new FilterStats('csrf.', STATS);

  constructor(readonly name: string, private readonly policy: CsrfPolicy) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const p = (s.perFilterConfig(this.name)?.config as CsrfPolicy | undefined) ?? this.policy;
    const enforce = sample(p.enabled);
    if (!enforce && !(p.shadow >= 0 && sample(p.shadow))) return FilterStatus.Continue;
    if (!MODIFY.has(s.method)) return FilterStatus.Continue;
    const stats = this.stats.of(s);
    const source = hostAndPort(getHeader(s.headers, 'origin')) || hostAndPort(getHeader(s.headers, 'referer'));
    let valid = true;
    if (!source) { valid = false; stats.missing_source_origin.value++; }
    else if (source !== s.authority && !p.additionalOrigins.some((m) => m(source))) { valid = false; stats.request_invalid.value++; }
    if (valid) { stats.request_valid.value++; return FilterStatus.Continue; }
    if (!enforce) return FilterStatus.Continue;
    s.sendLocalReply(403, 'Invalid origin', 'csrf_origin_mismatch');
    return FilterStatus.Stop;
  }
}

const CSRF = 'envoy.extensions.filters.http.csrf.v3.CsrfPolicy';

registerHttpFilter({
  configType: CSRF,
  create: (name: string, c: Json, path: string) => new CsrfFilter(name, parsePolicy(c, path)),
  perRoute: { [CSRF]: parsePolicy },
});
