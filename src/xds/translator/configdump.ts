// The translated resources as Envoy's admin /config_dump shows them (envoy.admin.v3.ConfigDump),
// so that egts's output can be compared with, or read like, a running Envoy's; and an Envoy
// bootstrap that points a real Envoy at egts's xDS server.
import { typed, type Msg } from './util.js';
import type { ResourceKind, XdsResources } from './resources.js';

/** What `-t` selects: one resource type, all of them, or the bootstrap. */
export type DumpSection = 'all' | 'listener' | 'route' | 'cluster' | 'endpoint' | 'secret' | 'bootstrap';

export const dumpSections: DumpSection[] = ['all', 'listener', 'route', 'cluster', 'endpoint', 'secret', 'bootstrap'];

const kindOf: Record<Exclude<DumpSection, 'all' | 'bootstrap'>, ResourceKind> = {
  listener: 'listeners', route: 'routes', cluster: 'clusters', endpoint: 'endpoints', secret: 'secrets',
};

function listenersDump(list: Msg[]): Msg {
  return typed('envoy.admin.v3.ListenersConfigDump', {
    dynamicListeners: list.map((l) => ({ name: l.name, activeState: { listener: typed('envoy.config.listener.v3.Listener', l) } })),
  });
}

function routesDump(list: Msg[]): Msg {
  return typed('envoy.admin.v3.RoutesConfigDump', {
    dynamicRouteConfigs: list.map((r) => ({ routeConfig: typed('envoy.config.route.v3.RouteConfiguration', r) })),
  });
}

function clustersDump(list: Msg[]): Msg {
  return typed('envoy.admin.v3.ClustersConfigDump', {
    dynamicActiveClusters: list.map((c) => ({ cluster: typed('envoy.config.cluster.v3.Cluster', c) })),
  });
}

function endpointsDump(list: Msg[]): Msg {
  return typed('envoy.admin.v3.EndpointsConfigDump', {
    dynamicEndpointConfigs: list.map((e) => ({ endpointConfig: typed('envoy.config.endpoint.v3.ClusterLoadAssignment', e) })),
  });
}

function secretsDump(list: Msg[]): Msg {
  return typed('envoy.admin.v3.SecretsConfigDump', {
    dynamicActiveSecrets: list.map((s) => ({ name: s.name, secret: typed('envoy.extensions.transport_sockets.tls.v3.Secret', s) })),
  });
}

const dumpers: Record<ResourceKind, (list: Msg[]) => Msg> = {
  listeners: listenersDump, routes: routesDump, clusters: clustersDump, endpoints: endpointsDump, secrets: secretsDump,
};

/** An envoy.admin.v3.ConfigDump of the resources (one section, or all in Envoy's order). */
export function buildConfigDump(r: XdsResources, section: Exclude<DumpSection, 'bootstrap'> = 'all'): Msg {
  const kinds: ResourceKind[] = section === 'all' ? ['listeners', 'routes', 'clusters', 'endpoints', 'secrets'] : [kindOf[section]];
  return { configs: kinds.map((k) => dumpers[k](r[k])) };
}

export interface BootstrapOptions {
  /** The IR key this proxy serves: its node cluster, which selects its snapshot. */
  key: string;
  /** The xDS server, host:port. */
  xdsAddress: string;
  /** The admin listener, host:port. */
  adminAddress?: string;
}

function hostPort(s: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m) throw new Error(`invalid address ${JSON.stringify(s)} (want host:port)`);
  return { host: m[1]!, port: m[2] ? Number(m[2]) : defaultPort };
}

/** An Envoy bootstrap: ADS over gRPC to egts's xDS server, listeners and clusters from there. */
export function buildBootstrap(o: BootstrapOptions): Msg {
  const xds = hostPort(o.xdsAddress, 18000);
  const admin = hostPort(o.adminAddress ?? '127.0.0.1:19000', 19000);
  const isIP = /^[0-9.]+$/.test(xds.host) || xds.host.includes(':');
  return {
    node: { id: `${o.key.replaceAll('/', '-')}-envoy`, cluster: o.key },
    dynamicResources: {
      adsConfig: {
        apiType: 'GRPC',
        transportApiVersion: 'V3',
        grpcServices: [{ envoyGrpc: { clusterName: 'xds_cluster' } }],
        setNodeOnFirstMessageOnly: true,
      },
      ldsConfig: { ads: {}, resourceApiVersion: 'V3' },
      cdsConfig: { ads: {}, resourceApiVersion: 'V3' },
    },
    staticResources: {
      clusters: [{
        name: 'xds_cluster',
        type: isIP ? 'STATIC' : 'STRICT_DNS',
        connectTimeout: '10s',
        typedExtensionProtocolOptions: {
          'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', {
            explicitHttpConfig: { http2ProtocolOptions: {} },
          }),
        },
        loadAssignment: {
          clusterName: 'xds_cluster',
          endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: xds.host, portValue: xds.port } } } }] }],
        },
      }],
    },
    admin: { address: { socketAddress: { address: admin.host, portValue: admin.port } } },
  };
}
