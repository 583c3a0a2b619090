// UDP listeners: a UDP proxy listener filter routing every datagram to the route's cluster.
import type { Xds } from '../../ir/xds.js';
import { buildAccessLogs } from './accesslog.js';
import { endpointTypeOf } from './cluster.js';
import type { Context } from './context.js';
import { ipFamilyOf } from './http.js';
import { emptyClusterName } from './tcp.js';
import { typed, type Msg } from './util.js';

export function processUDPListeners(ctx: Context, ir: Xds): void {
  const t = ctx.table;
  for (const l of ir.udp ?? []) {
    const r = l.route;
    let cluster = emptyClusterName;
    if (r?.destination) {
      const dest = r.destination;
      const refs = dest.backendClusterRefs ?? [];
      cluster = !dest.settings?.length && refs.length === 1 ? refs[0]!.name : dest.name;
      if (dest.settings?.length || !refs.length) {
        ctx.addCluster({
          name: dest.name,
          settings: dest.settings ?? [],
          endpointType: endpointTypeOf(dest.settings),
          ipFamily: ipFamilyOf(dest.settings ?? []),
          traffic: { loadBalancer: r.loadBalancer, dns: r.dns },
          metadata: dest.metadata,
          perEndpointStats: ir.metrics?.enablePerEndpointStats,
          requestResponseSizes: ir.metrics?.enableRequestResponseSizesStats,
          noHTTPOptions: true,
        });
      }
    } else if (!t.has('clusters', emptyClusterName)) {
      t.add('clusters', { name: emptyClusterName, type: 'STATIC' });
    }
    const proxy: Msg = {
      statPrefix: 'service',
      matcher: {
        onNoMatch: {
          action: { name: 'route', typedConfig: typed('envoy.extensions.filters.udp.udp_proxy.v3.Route', { cluster }) },
        },
      },
    };
    const logs = buildAccessLogs(ir.accessLog, 'tcp');
    if (logs) proxy.accessLog = logs;
    if (r?.loadBalancer?.consistentHash?.sourceIP) proxy.hashPolicies = [{ sourceIp: true }];
    const xl: Msg = {
      name: ctx.names.listener(l, 'udp'),
      address: { socketAddress: { protocol: 'UDP', address: l.address, portValue: l.port } },
      listenerFilters: [{
        name: 'envoy.filters.udp_listener.udp_proxy',
        typedConfig: typed('envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig', proxy),
      }],
    };
    t.add('listeners', xl);
  }
}
