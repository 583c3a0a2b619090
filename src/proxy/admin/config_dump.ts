// /config_dump in Envoy's ConfigDump shape (envoy.admin.v3): one entry per config kind, in
// Envoy's order (bootstrap, clusters, endpoints with include_eds, listeners, routes, secrets),
// each resource with its "@type", version and update time. Configuration loaded from a file is
// static, configuration from ADS dynamic, as in Envoy. As in Envoy, every field that its protos mark
// sensitive is redacted, in secrets, filter configs and the bootstrap alike (xds/proto/redact.ts).
import { redactSensitive } from '../../xds/proto/index.js';
import type { Json } from '../config/json.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, type ResourceType } from '../config/type_urls.js';

const ADMIN = 'type.googleapis.com/envoy.admin.v3.';

export interface ConfigDumpSource {
  resources: ReadonlyMap<ResourceType, ReadonlyMap<string, Json>>;
  /** version_info last accepted per type (ADS). */
  versions: ReadonlyMap<string, string>;
  /** When each type was last updated. */
  updated: ReadonlyMap<ResourceType, Date>;
  dynamic: boolean;
  bootstrap: Json;
}

export interface ConfigDumpQuery {
  includeEds: boolean;
  /** `resource=`: only this repeated field of the matching dump (e.g. dynamic_listeners). */
  resource?: string;
  /** `name_regex=`: only resources whose name matches. */
  nameRegex?: RegExp;
}

function typed(type: ResourceType, r: Json): Json {
  return { '@type': type, ...r };
}

export function buildConfigDump(src: ConfigDumpSource, q: ConfigDumpQuery): Json {
  const when = (t: ResourceType) => (src.updated.get(t) ?? new Date(0)).toISOString();
  const version = (t: ResourceType) => src.versions.get(t) ?? '';
  const named = (t: ResourceType) => {
    const out: [string, Json][] = [];
    for (const [name, r] of src.resources.get(t) ?? new Map()) if (!q.nameRegex || q.nameRegex.test(name)) out.push([name, r]);
    return out;
  };
  const d = src.dynamic;
  const unredacted: Json[] = [
    { '@type': `${ADMIN}BootstrapConfigDump`, bootstrap: src.bootstrap, lastUpdated: when(LISTENER) },
    {
      '@type': `${ADMIN}ClustersConfigDump`,
      ...(d ? { versionInfo: version(CLUSTER) } : {}),
      [d ? 'dynamicActiveClusters' : 'staticClusters']: named(CLUSTER).map(([, r]) => ({ ...(d ? { versionInfo: version(CLUSTER) } : {}), cluster: typed(CLUSTER, r), lastUpdated: when(CLUSTER) })),
    },
  ];
  if (q.includeEds) {
    unredacted.push({
      '@type': `${ADMIN}EndpointsConfigDump`,
      [d ? 'dynamicEndpointConfigs' : 'staticEndpointConfigs']: named(ENDPOINT).map(([, r]) => ({ ...(d ? { versionInfo: version(ENDPOINT) } : {}), endpointConfig: typed(ENDPOINT, r), lastUpdated: when(ENDPOINT) })),
    });
  }
  unredacted.push(
    {
      '@type': `${ADMIN}ListenersConfigDump`,
      ...(d ? { versionInfo: version(LISTENER) } : {}),
      ...(d
        ? { dynamicListeners: named(LISTENER).map(([name, r]) => ({ name, activeState: { versionInfo: version(LISTENER), listener: typed(LISTENER, r), lastUpdated: when(LISTENER) } })) }
        : { staticListeners: named(LISTENER).map(([, r]) => ({ listener: typed(LISTENER, r), lastUpdated: when(LISTENER) })) }),
    },
    {
      '@type': `${ADMIN}RoutesConfigDump`,
      [d ? 'dynamicRouteConfigs' : 'staticRouteConfigs']: named(ROUTE).map(([, r]) => ({ ...(d ? { versionInfo: version(ROUTE) } : {}), routeConfig: typed(ROUTE, r), lastUpdated: when(ROUTE) })),
    },
    {
      '@type': `${ADMIN}SecretsConfigDump`,
      [d ? 'dynamicActiveSecrets' : 'staticSecrets']: named(SECRET).map(([name, r]) => ({ name, ...(d ? { versionInfo: version(SECRET) } : {}), lastUpdated: when(SECRET), secret: typed(SECRET, r) })),
    },
  );
  // Redacted before any selection, so that what is shown never depends on the query.
  const configs = (redactSensitive(`${ADMIN}ConfigDump`, { configs: unredacted }) as { configs: Json[] }).configs;
  if (!q.resource) return { configs };
  // resource=<field>: the entries of that field, each with the @type of its element.
  const field = q.resource.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
  const items: Json[] = [];
  for (const c of configs) {
    const list = c[field];
    if (!Array.isArray(list)) continue;
    const elementType = `${String(c['@type']).replace(/ConfigDump$/, '')}ConfigDump.${elementName(field)}`;
    for (const e of list) items.push({ '@type': elementType, ...e });
  }
  return { configs: items };
}

function elementName(field: string): string {
  switch (field) {
    case 'dynamicListeners': return 'DynamicListener';
    case 'staticListeners': return 'StaticListener';
    case 'dynamicActiveClusters': return 'DynamicCluster';
    case 'staticClusters': return 'StaticCluster';
    case 'dynamicRouteConfigs': return 'DynamicRouteConfig';
    case 'staticRouteConfigs': return 'StaticRouteConfig';
    case 'dynamicActiveSecrets': return 'DynamicSecret';
    case 'staticSecrets': return 'StaticSecret';
    case 'dynamicEndpointConfigs': return 'DynamicEndpointConfig';
    case 'staticEndpointConfigs': return 'StaticEndpointConfig';
    default: return field;
  }
}
