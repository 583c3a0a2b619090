// Whether the proxies of an IR key run its current configuration, from what the xDS server
// knows of each connection: a proxy is in sync when every type it subscribed to has been ACKed
// at the version last sent, and rejecting when its latest answer for some type was a NACK.
// This drives the Gateway's Programmed condition (True only once its proxies have ACKed) and
// puts a proxy's rejection, with its own message, in the status of what it rejected.
import type { Condition } from '../api/meta.js';
import type { Nack, ProxyConnection, Snapshot } from '../xds/server/index.js';
import { TYPE_URL } from '../xds/proto/index.js';

export interface ProxySync {
  nodeId: string;
  protocol: 'sotw' | 'delta';
  connectedAt: string;
  /** Every subscribed type ACKed at the version last sent. */
  inSync: boolean;
  /** The proxy's standing rejection (its latest answer for a type was a NACK). */
  nack?: Nack;
  /** Per type: the version sent and the version ACKed. */
  types: { typeUrl: string; sent?: string; acked?: string }[];
  /** The Gateway API resources the rejection points at (from the rejected resources' metadata). */
  named?: NamedResource[];
}

export interface NamedResource {
  kind: string;
  namespace: string;
  name: string;
}

export function proxySync(conn: ProxyConnection): ProxySync {
  let inSync = conn.types.size > 0;
  let nack: Nack | undefined;
  const types: ProxySync['types'] = [];
  for (const t of conn.types.values()) {
    types.push({ typeUrl: t.typeUrl, sent: t.sentVersion, acked: t.ackedVersion });
    const rejected = t.lastNack && (!t.ackedAt || t.lastNack.at >= t.ackedAt);
    if (rejected) {
      nack ??= t.lastNack;
      inSync = false;
    } else if (t.sentVersion === undefined || t.ackedVersion !== t.sentVersion) {
      inSync = false;
    }
  }
  return { nodeId: conn.nodeId, protocol: conn.protocol, connectedAt: conn.connectedAt.toISOString(), inSync, nack, types };
}

/** What the control plane knows of one IR key's configuration and its proxies. */
export interface KeyProgress {
  irKey: string;
  /** Version of the snapshot served for the key (undefined before the first). */
  version?: string;
  proxies: ProxySync[];
  /** The latest xDS translation failed: the proxies keep the last good snapshot. */
  translationError?: string;
}

const short = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf('.') + 1);

/** The Programmed condition of the Gateways of a key, as the proxies' acknowledgements say. */
export function programmedCondition(p: KeyProgress): Pick<Condition, 'type' | 'status' | 'reason' | 'message'> {
  const c = (status: 'True' | 'False', reason: string, message: string) => ({ type: 'Programmed', status, reason, message });
  if (p.translationError) return c('False', 'Invalid', `The configuration could not be translated; proxies keep the last good one: ${p.translationError}`);
  const rejecting = p.proxies.find((x) => x.nack);
  if (rejecting) return c('False', 'Invalid', `Proxy ${rejecting.nodeId} rejected the ${short(rejecting.nack!.typeUrl)} configuration: ${rejecting.nack!.message}`);
  if (p.version === undefined) return c('False', 'Pending', 'Waiting for the configuration to be translated');
  if (!p.proxies.length) return c('False', 'Pending', 'Waiting for a proxy to connect');
  const behind = p.proxies.filter((x) => !x.inSync).length;
  if (behind) return c('False', 'Pending', `Waiting for ${behind} of ${p.proxies.length} proxies to acknowledge the configuration`);
  return c('True', 'Programmed', `Applied by ${p.proxies.length === 1 ? 'its proxy' : `all ${p.proxies.length} proxies`}`);
}

/**
 * The resources a proxy's message names, by the xDS names Envoy Gateway gives them
 * (`httproute/<namespace>/<name>/rule/...`, `securitypolicy/<namespace>/<name>/...`).
 */
export function namedResources(message: string): NamedResource[] {
  const kinds: Record<string, string> = {
    httproute: 'HTTPRoute',
    grpcroute: 'GRPCRoute',
    tlsroute: 'TLSRoute',
    tcproute: 'TCPRoute',
    udproute: 'UDPRoute',
    securitypolicy: 'SecurityPolicy',
    backendtrafficpolicy: 'BackendTrafficPolicy',
    clienttrafficpolicy: 'ClientTrafficPolicy',
    envoyextensionpolicy: 'EnvoyExtensionPolicy',
  };
  const out = new Map<string, { kind: string; namespace: string; name: string }>();
  const pattern = /\b(httproute|grpcroute|tlsroute|tcproute|udproute|securitypolicy|backendtrafficpolicy|clienttrafficpolicy|envoyextensionpolicy)\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)/g;
  for (const m of message.matchAll(pattern)) {
    const kind = kinds[m[1]!]!;
    out.set(`${kind} ${m[2]}/${m[4]}`, { kind, namespace: m[2]!, name: m[4]! });
  }
  return [...out.values()];
}

const kindTypeUrl: Record<string, string> = {
  Listener: TYPE_URL.listener,
  RouteConfiguration: TYPE_URL.route,
  Cluster: TYPE_URL.cluster,
  ClusterLoadAssignment: TYPE_URL.endpoint,
  Secret: TYPE_URL.secret,
};

/**
 * The Gateway API resources a proxy's rejection points at. Proxies name the xDS resource and
 * the field (`RouteConfiguration default/eg/http: virtualHosts[0].routes[2].match: ...`);
 * following that path through the served resource, every object on the way that carries
 * Envoy Gateway's metadata (`filterMetadata["envoy-gateway"].resources`) names its origin.
 */
export function rejectedResources(snapshot: Snapshot | undefined, message: string): NamedResource[] {
  const out = new Map<string, NamedResource>();
  for (const r of namedResources(message)) out.set(`${r.kind} ${r.namespace}/${r.name}`, r);
  if (snapshot) {
    const pattern = /\b(Listener|RouteConfiguration|Cluster|ClusterLoadAssignment|Secret) (\S+): ([A-Za-z0-9_.\[\]]+):/g;
    for (const m of message.matchAll(pattern)) {
      const json = snapshot.types.get(kindTypeUrl[m[1]!]!)?.resources.get(m[2]!)?.json;
      let node: any = json;
      const visit = (o: any) => {
        // Envoy Gateway's xDS names carry their origin (`httproute/<ns>/<name>/rule/...`).
        if (typeof o?.name === 'string') for (const r of namedResources(o.name)) out.set(`${r.kind} ${r.namespace}/${r.name}`, r);
        for (const r of o?.metadata?.filterMetadata?.['envoy-gateway']?.resources ?? []) {
          if (r?.kind && r.kind !== 'Gateway' && r.name) out.set(`${r.kind} ${r.namespace}/${r.name}`, { kind: r.kind, namespace: r.namespace ?? '', name: r.name });
        }
      };
      visit(node);
      for (const step of m[3]!.split(/\.|(?=\[)/)) {
        if (!node || typeof node !== 'object') break;
        const index = /^\[(\d+)\]$/.exec(step);
        node = index ? node[Number(index[1])] : node[step];
        visit(node);
      }
    }
  }
  return [...out.values()];
}
