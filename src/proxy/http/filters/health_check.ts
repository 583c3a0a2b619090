// envoy.filters.http.health_check (non pass-through mode): requests matching the configured
// headers (Envoy Gateway's /ready on its readiness listener) are answered here with 200, or 503
// while the proxy is draining, and never reach a route.
import { at, bool, list, type Json } from '../../config/json.js';
import { compileHeaderMatcher } from '../../router/route_match.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { ConfigError } from '../../config/errors.js';
import type { HttpStream } from '../stream.js';

/** Set while the process drains (shutdown): health checks fail so that load balancers move away. */
export const healthState = { failing: false };

registerHttpFilter({
  configType: 'envoy.extensions.filters.http.health_check.v3.HealthCheck',
  create(name: string, c: Json, path: string): HttpFilter {
    if (bool(c, 'passThroughMode', path)) throw new ConfigError(at(path, 'passThroughMode'), 'pass-through health checking is not supported');
    const matchers = list(c, 'headers', path).map((h: Json, i: number) => compileHeaderMatcher(h, at(at(path, 'headers'), i)));
    return {
      name,
      decodeHeaders(s: HttpStream): FilterStatus {
        if (!matchers.every((m) => m(s))) return FilterStatus.Continue;
        s.sendLocalReply(healthState.failing ? 503 : 200, '', 'health_check');
        return FilterStatus.Stop;
      },
    };
  },
});
