// The readiness listener Envoy Gateway's probes hit: answers 200 on the ready path through the
// health check filter (which also fails while Envoy drains), 500 on anything else.
import type { ReadyListener } from '../../ir/xds.js';
import { typed, type Msg } from './util.js';

export function buildReadyListener(r: ReadyListener): Msg {
  const hcm: Msg = {
    statPrefix: 'eg-ready-http',
    routeConfig: {
      name: 'ready_route',
      virtualHosts: [{ name: 'ready_route', domains: ['*'], routes: [{ match: { prefix: '/' }, directResponse: { status: 500 } }] }],
    },
    httpFilters: [
      {
        name: 'envoy.filters.http.health_check',
        typedConfig: typed('envoy.extensions.filters.http.health_check.v3.HealthCheck', {
          passThroughMode: false,
          headers: [{ name: ':path', stringMatch: { exact: r.path } }],
        }),
      },
      { name: 'envoy.filters.http.router', typedConfig: typed('envoy.extensions.filters.http.router.v3.Router', { suppressEnvoyHeaders: true }) },
    ],
  };
  return {
    name: `envoy-gateway-proxy-ready-${r.address}-${r.port}`,
    address: { socketAddress: { address: r.address, portValue: r.port } },
    filterChains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typedConfig: typed('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', hcm),
      }],
    }],
    bypassOverloadManager: true,
  };
}
