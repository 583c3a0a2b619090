// A snapshot in the shape of Envoy's admin /config_dump (envoy.admin.v3 *ConfigDump messages,
// proto3 JSON): what a proxy of that IR key is being served, for people and tools that read
// Envoy's dumps. As in Envoy's, every field its protos mark sensitive is redacted (private keys,
// generic secrets, basic auth users, API keys, ... in secrets and in filter configs alike); the
// snapshot itself, which proxies are served, keeps them.
import type { Snapshot } from '../xds/server/index.js';
import { TYPE_URL, redactSensitive } from '../xds/proto/index.js';

const admin = (m: string) => `type.googleapis.com/envoy.admin.v3.${m}`;

export function configDump(snapshot: Snapshot, lastUpdated?: Date): { configs: unknown[] } {
  return redactSensitive('envoy.admin.v3.ConfigDump', unredactedDump(snapshot, lastUpdated)) as { configs: unknown[] };
}

function unredactedDump(snapshot: Snapshot, lastUpdated?: Date): { configs: unknown[] } {
  const updated = lastUpdated?.toISOString();
  const of = (typeUrl: string) => {
    const t = snapshot.types.get(typeUrl);
    return { version: t?.version ?? '', resources: t ? [...t.resources.values()] : [] };
  };
  const clusters = of(TYPE_URL.cluster);
  const listeners = of(TYPE_URL.listener);
  const routes = of(TYPE_URL.route);
  const secrets = of(TYPE_URL.secret);
  const endpoints = of(TYPE_URL.endpoint);
  return {
    configs: [
      {
        '@type': admin('ClustersConfigDump'),
        versionInfo: clusters.version,
        dynamicActiveClusters: clusters.resources.map((r) => ({ versionInfo: r.version, cluster: { '@type': TYPE_URL.cluster, ...(r.json as object) }, lastUpdated: updated })),
      },
      {
        '@type': admin('ListenersConfigDump'),
        versionInfo: listeners.version,
        dynamicListeners: listeners.resources.map((r) => ({ name: r.name, activeState: { versionInfo: r.version, listener: { '@type': TYPE_URL.listener, ...(r.json as object) }, lastUpdated: updated } })),
      },
      {
        '@type': admin('RoutesConfigDump'),
        dynamicRouteConfigs: routes.resources.map((r) => ({ versionInfo: r.version, routeConfig: { '@type': TYPE_URL.route, ...(r.json as object) }, lastUpdated: updated })),
      },
      {
        '@type': admin('SecretsConfigDump'),
        dynamicActiveSecrets: secrets.resources.map((r) => ({ name: r.name, versionInfo: r.version, lastUpdated: updated, secret: { '@type': TYPE_URL.secret, ...(r.json as object) } })),
      },
      {
        '@type': admin('EndpointsConfigDump'),
        dynamicEndpointConfigs: endpoints.resources.map((r) => ({ versionInfo: r.version, endpointConfig: { '@type': TYPE_URL.endpoint, ...(r.json as object) }, lastUpdated: updated })),
      },
    ],
  };
}

