// A snapshot in the shape of Envoy's admin /config_dump (envoy.admin.v3 *ConfigDump messages,
// proto3 JSON): what a proxy of that IR key is being served, for people and tools that read
// Envoy's dumps.
import type { Snapshot } from '../xds/server/index.js';
import { REDACTED } from '../ir/redact.js';
import { TYPE_URL } from '../xds/proto/index.js';

const admin = (m: string) => `type.googleapis.com/envoy.admin.v3.${m}`;

export function configDump(snapshot: Snapshot, lastUpdated?: Date): { configs: unknown[] } {
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
        dynamicActiveSecrets: secrets.resources.map((r) => ({ name: r.name, versionInfo: r.version, lastUpdated: updated, secret: { '@type': TYPE_URL.secret, ...redactSecret(r.json) } })),
      },
      {
        '@type': admin('EndpointsConfigDump'),
        dynamicEndpointConfigs: endpoints.resources.map((r) => ({ versionInfo: r.version, endpointConfig: { '@type': TYPE_URL.endpoint, ...(r.json as object) }, lastUpdated: updated })),
      },
    ],
  };
}

/**
 * Secret material is never shown, as Envoy's own dump redacts its sensitive fields: private keys
 * and their passwords, generic secrets (OIDC client and HMAC secrets, injected credentials),
 * session ticket keys.
 */
function redactSecret(json: unknown): object {
  const s = structuredClone(json) as Record<string, any>;
  const cert = s.tlsCertificate;
  for (const field of ['privateKey', 'password']) if (cert?.[field]) cert[field] = { inlineString: REDACTED };
  if (s.genericSecret?.secret) s.genericSecret.secret = { inlineString: REDACTED };
  if (Array.isArray(s.sessionTicketKeys?.keys)) s.sessionTicketKeys.keys = s.sessionTicketKeys.keys.map(() => ({ inlineString: REDACTED }));
  return s;
}
