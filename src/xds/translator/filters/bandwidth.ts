// Bandwidth limits (BackendTrafficPolicy bandwidthLimit): two bandwidth_limit filters, for
// requests and for responses, off by default; a route sets its rate for either direction.
import { typed, type Msg } from '../util.js';
import type { HTTPFeature } from './feature.js';

const requestFilter = 'envoy.filters.http.bandwidth_limit/request';
const responseFilter = 'envoy.filters.http.bandwidth_limit/response';
const configType = 'envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit';
const statPrefix = 'http_bandwidth_limiter';

export const bandwidthLimit: HTTPFeature = {
  filters(l) {
    const routes = l.routes ?? [];
    const out: Msg[] = [];
    if (routes.some((r) => r.traffic?.bandwidthLimit?.request)) out.push({ name: requestFilter, disabled: true, typedConfig: typed(configType, { statPrefix }) });
    if (routes.some((r) => r.traffic?.bandwidthLimit?.response)) out.push({ name: responseFilter, disabled: true, typedConfig: typed(configType, { statPrefix }) });
    return out;
  },
  perRoute(r) {
    const b = r.traffic?.bandwidthLimit;
    if (!b) return undefined;
    const out: Record<string, Msg> = {};
    if (b.request) {
      out[requestFilter] = typed(configType, { statPrefix, enableMode: 'REQUEST', limitKbps: String(b.request.limitKibps) });
    }
    if (b.response) {
      const cfg: Msg = { statPrefix, enableMode: 'RESPONSE', limitKbps: String(b.response.limitKibps) };
      if (b.response.responseTrailers) {
        cfg.enableResponseTrailers = true;
        if (b.response.responseTrailers.prefix) cfg.responseTrailerPrefix = b.response.responseTrailers.prefix;
      }
      out[responseFilter] = typed(configType, cfg);
    }
    return out;
  },
};
