// envoy.config.endpoint.v3.ClusterLoadAssignment compiled into endpoint specs grouped by
// priority. Hosts are built from specs by the cluster, reusing existing Host objects (and their
// connection pools and health state) when an endpoint stays.
import { ConfigError } from '../config/errors.js';
import { at, enumOf, field, list, numOr, obj, str, type Json } from '../config/json.js';
import type { Locality } from './host.js';

export type HealthStatus = 'UNKNOWN' | 'HEALTHY' | 'UNHEALTHY' | 'DRAINING' | 'TIMEOUT' | 'DEGRADED';

export interface EndpointSpec {
  address: string;
  port: number;
  pipe: string | undefined;
  hostname: string;
  weight: number;
  health: HealthStatus;
  locality: Locality;
  socketMatch: Record<string, unknown> | undefined;
  /** health_check_config.port_value override. */
  healthCheckPort: number;
}

export interface Assignment {
  /** priorities[p] = endpoints at priority p. */
  priorities: EndpointSpec[][];
}

const HEALTH = ['UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'] as const;

export function compileAssignment(cla: Json, path = ''): Assignment {
  const priorities: EndpointSpec[][] = [];
  list(cla, 'endpoints', path).forEach((lle: Json, i: number) => {
    const lp = at(at(path, 'endpoints'), i);
    const priority = numOr(lle, 'priority', lp, 0);
    const loc = obj(lle, 'locality', lp) ?? {};
    const region = str(loc, 'region', at(lp, 'locality'));
    const zone = str(loc, 'zone', at(lp, 'locality'));
    const subZone = str(loc, 'subZone', at(lp, 'locality'));
    const locality: Locality = { region, zone, subZone, weight: numOr(lle, 'loadBalancingWeight', lp, 0), key: `${region}/${zone}/${subZone}/${i}` };
    const specs = (priorities[priority] ??= []);
    list(lle, 'lbEndpoints', lp).forEach((e: Json, j: number) => {
      const ep = at(at(lp, 'lbEndpoints'), j);
      const endpoint = obj(e, 'endpoint', ep);
      if (!endpoint) {
        if (field(e, 'endpointName') !== undefined) throw new ConfigError(at(ep, 'endpointName'), 'named endpoints are not supported');
        throw new ConfigError(at(ep, 'endpoint'), 'required');
      }
      const addr = obj(endpoint, 'address', at(ep, 'endpoint'));
      if (!addr) throw new ConfigError(at(ep, 'endpoint.address'), 'required');
      const { address, port, pipe } = compileAddress(addr, at(ep, 'endpoint.address'));
      const hcc = obj(endpoint, 'healthCheckConfig', at(ep, 'endpoint'));
      const md = obj(e, 'metadata', ep);
      const fm = md && obj(md, 'filterMetadata', at(ep, 'metadata'));
      specs.push({
        address,
        port,
        pipe,
        hostname: str(endpoint, 'hostname', at(ep, 'endpoint')),
        weight: numOr(e, 'loadBalancingWeight', ep, 1) || 1,
        health: enumOf(e, 'healthStatus', ep, HEALTH, 'UNKNOWN'),
        locality,
        socketMatch: fm?.['envoy.transport_socket_match'],
        healthCheckPort: hcc ? numOr(hcc, 'portValue', at(ep, 'endpoint.healthCheckConfig'), 0) : 0,
      });
    });
  });
  for (let p = 0; p < priorities.length; p++) priorities[p] ??= [];
  return { priorities };
}

/** core.v3.Address: socket_address (IP or DNS name) or pipe (Unix socket). */
export function compileAddress(a: Json, path: string): { address: string; port: number; pipe: string | undefined } {
  const sa = obj(a, 'socketAddress', path);
  if (sa) {
    const sp = at(path, 'socketAddress');
    if (field(sa, 'namedPort') !== undefined) throw new ConfigError(at(sp, 'namedPort'), 'named ports are not supported');
    if (field(sa, 'protocol') === 'UDP' || field(sa, 'protocol') === 1) { /* UDP upstreams: same address shape */ }
    const address = str(sa, 'address', sp);
    if (!address) throw new ConfigError(at(sp, 'address'), 'required');
    const port = numOr(sa, 'portValue', sp, 0);
    if (port < 0 || port > 65535) throw new ConfigError(at(sp, 'portValue'), 'must be in [0, 65535]');
    return { address, port, pipe: undefined };
  }
  const pipe = obj(a, 'pipe', path);
  if (pipe) {
    const p = str(pipe, 'path', at(path, 'pipe'));
    if (!p) throw new ConfigError(at(path, 'pipe.path'), 'required');
    // Envoy's abstract namespace sockets start with @; Node spells them with a leading NUL.
    return { address: '', port: 0, pipe: p.startsWith('@') ? `\0${p.slice(1)}` : p };
  }
  if (obj(a, 'envoyInternalAddress', path)) throw new ConfigError(at(path, 'envoyInternalAddress'), 'internal listeners are not supported');
  throw new ConfigError(path, 'one of socketAddress or pipe is required');
}
