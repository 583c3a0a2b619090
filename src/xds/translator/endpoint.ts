// ClusterLoadAssignments: the endpoints of a cluster. Each destination setting becomes a
// locality (named by the setting, weighted by the setting's weight) so that weighted backendRefs
// share one cluster; with zone-aware load balancing the localities are the endpoints' zones.
import type { DestinationEndpoint, DestinationSetting, HealthCheck, LoadBalancer } from '../../ir/xds.js';
import { buildResourceMetadata } from './metadata.js';
import type { Msg } from './util.js';

export interface LoadAssignmentOptions {
  lb?: LoadBalancer;
  healthCheck?: HealthCheck;
}

/** Endpoints are grouped by zone when the load balancer weighs or prefers zones. */
export function needsZoneLocalities(settings: DestinationSetting[], lb: LoadBalancer | undefined): boolean {
  if (lb?.preferLocal || lb?.weightedZones?.length) return true;
  return settings.some((s) => s.preferLocal);
}

export function buildLoadAssignment(clusterName: string, settings: DestinationSetting[], opts: LoadAssignmentOptions = {}): Msg {
  const localities: Msg[] = [];
  const byZone = needsZoneLocalities(settings, opts.lb);
  const hcPort = opts.healthCheck?.active?.overrides?.port;
  settings.forEach((s, i) => {
    const tlsMatch = s.tls ? `${clusterName}/tls/${i}` : undefined;
    const lbEndpoints = (s.endpoints ?? []).map((e) => lbEndpoint(e, tlsMatch, hcPort));
    if (byZone) {
      const zones = new Map<string, Msg[]>();
      (s.endpoints ?? []).forEach((e, j) => {
        const z = e.zone ?? '';
        let list = zones.get(z);
        if (!list) zones.set(z, (list = []));
        list.push(lbEndpoints[j]!);
      });
      for (const [zone, eps] of zones) {
        const l: Msg = { locality: zone ? { zone } : {} };
        if (eps.length) l.lbEndpoints = eps;
        if (opts.lb?.weightedZones?.length) {
          l.loadBalancingWeight = opts.lb.weightedZones.find((w) => w.zone === zone)?.weight ?? 1;
        }
        if (s.priority) l.priority = s.priority;
        localities.push(l);
      }
      return;
    }
    const l: Msg = { locality: s.name ? { region: s.name } : {} };
    if (lbEndpoints.length) l.lbEndpoints = lbEndpoints;
    l.loadBalancingWeight = s.weight ?? 1;
    if (s.priority) l.priority = s.priority;
    const md = buildResourceMetadata(s.metadata);
    if (md) l.metadata = md;
    localities.push(l);
  });
  return localities.length ? { clusterName, endpoints: localities } : { clusterName };
}

function lbEndpoint(e: DestinationEndpoint, tlsMatch: string | undefined, hcPort: number | undefined): Msg {
  const endpoint: Msg = {
    address: e.path ? { pipe: { path: e.path } } : { socketAddress: { address: e.host ?? '', portValue: e.port ?? 0 } },
  };
  if (e.hostname) endpoint.hostname = e.hostname;
  if (hcPort) endpoint.healthCheckConfig = { portValue: hcPort };
  const lbe: Msg = { endpoint };
  if (e.draining) lbe.healthStatus = 'DRAINING';
  lbe.loadBalancingWeight = 1;
  if (tlsMatch) lbe.metadata = { filterMetadata: { 'envoy.transport_socket_match': { name: tlsMatch } } };
  return lbe;
}
