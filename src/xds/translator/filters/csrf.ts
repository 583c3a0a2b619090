// CSRF protection (SecurityPolicy csrf): the csrf filter on every listener with such routes,
// enforcing nothing by default; each route enables it with its extra trusted origins, and a
// shadow fraction leaves that share of requests checked but not rejected.
import type { FractionalPercent } from '../../../ir/xds.js';
import { buildStringMatcher } from '../route.js';
import { typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const filterType = 'envoy.filters.http.csrf';
const configType = 'envoy.extensions.filters.http.csrf.v3.CsrfPolicy';

const denominators: [string | undefined, number][] = [[undefined, 100], ['TEN_THOUSAND', 10000], ['MILLION', 1000000]];

/** A percentage (0-100) as a FractionalPercent with the smallest denominator that holds it exactly. */
function percent(p: number): Msg {
  for (const [name, d] of denominators) {
    const n = (p * d) / 100;
    if (Math.abs(n - Math.round(n)) < 1e-9) return name ? { numerator: Math.round(n), denominator: name } : { numerator: Math.round(n) };
  }
  return { numerator: Math.round(p * 10000), denominator: 'MILLION' };
}

function fractionPercent(f: FractionalPercent): number {
  return (f.numerator * 100) / (f.denominator ?? 100);
}

export const csrf: HTTPFeature = {
  filters(l) {
    if (!l.routes?.some((r) => r.security?.csrf)) return [];
    return [{ name: filterType, typedConfig: typed(configType, { filterEnabled: { defaultValue: {} } }) }];
  },
  perRoute(r) {
    const c = r.security?.csrf;
    if (!c) return undefined;
    const cfg: Msg = {};
    const shadow = c.shadowFraction ? fractionPercent(c.shadowFraction) : 0;
    cfg.filterEnabled = { defaultValue: percent(100 - shadow) };
    if (c.shadowFraction) cfg.shadowEnabled = { defaultValue: percent(100) };
    if (c.additionalOrigins?.length) cfg.additionalOrigins = c.additionalOrigins.map(buildStringMatcher);
    return { [filterType]: typed(configType, cfg) };
  },
};
