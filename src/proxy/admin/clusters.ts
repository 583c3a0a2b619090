// /clusters as Envoy prints it: per cluster its circuit breaker thresholds and, per host, its
// live numbers, health flags, weight and locality (`<cluster>::<host>::<field>::<value>`), or
// the ClusterStatuses JSON with ?format=json.
import type { Cluster } from '../upstream/cluster.js';
import { HealthFlag, type Host } from '../upstream/host.js';
import type { StatsSnapshot } from '../stats/snapshot.js';

/** Envoy's health flag names, in its order. */
export function healthFlagsText(h: Host): string {
  const f = h.healthFlags;
  let out = '';
  if (f & HealthFlag.ActiveHcFailed) out += '/failed_active_hc';
  if (f & HealthFlag.OutlierEjected) out += '/failed_outlier_check';
  if (f & HealthFlag.EdsUnhealthy) out += '/failed_eds_health';
  if (f & HealthFlag.DegradedActiveHc) out += '/degraded_active_hc';
  if (f & HealthFlag.Degraded) out += '/degraded_eds_health';
  if (f & HealthFlag.PendingActiveHc) out += '/pending_active_hc';
  if (f & HealthFlag.EdsDraining) out += '/eds_status_draining';
  return out || 'healthy';
}

function hostNumbers(s: StatsSnapshot, cluster: string, h: Host): { total: number; error: number; active: number } {
  const v = s.hosts[cluster]?.[h.key];
  return v ? { total: v[0], error: v[1], active: v[2] } : { total: h.rqTotal, error: h.rqError, active: h.activeRequests };
}

export function clustersText(clusters: Iterable<Cluster>, s: StatsSnapshot, dynamic: boolean): string {
  let out = '';
  for (const c of clusters) {
    const n = c.name;
    const b = c.settings.breakers;
    out += `${n}::observability_name::${c.settings.altStatName || n}\n`;
    for (const prio of ['default_priority', 'high_priority']) {
      out += `${n}::${prio}::max_connections::${b.maxConnections}\n${n}::${prio}::max_pending_requests::${b.maxPendingRequests}\n`;
      out += `${n}::${prio}::max_requests::${b.maxRequests}\n${n}::${prio}::max_retries::${b.maxRetries}\n`;
    }
    out += `${n}::added_via_api::${dynamic}\n`;
    if (c.settings.discovery === 'EDS') out += `${n}::eds_service_name::${c.settings.edsServiceName}\n`;
    for (const h of c.hosts) {
      const p = `${n}::${h.toString()}::`;
      const num = hostNumbers(s, n, h);
      out += `${p}rq_active::${num.active}\n${p}rq_error::${num.error}\n${p}rq_success::${num.total - num.error}\n${p}rq_total::${num.total}\n`;
      out += `${p}hostname::${h.hostname}\n${p}health_flags::${healthFlagsText(h)}\n${p}weight::${h.weight}\n`;
      out += `${p}region::${h.locality.region}\n${p}zone::${h.locality.zone}\n${p}sub_zone::${h.locality.subZone}\n`;
      out += `${p}canary::false\n${p}priority::${h.priority}\n${p}success_rate::-1\n${p}local_origin_success_rate::-1\n`;
    }
  }
  return out;
}

export function clustersJson(clusters: Iterable<Cluster>, s: StatsSnapshot, dynamic: boolean): object {
  const statuses = [];
  for (const c of clusters) {
    const b = c.settings.breakers;
    statuses.push({
      name: c.name,
      addedViaApi: dynamic,
      observabilityName: c.settings.altStatName || c.name,
      ...(c.settings.discovery === 'EDS' ? { edsServiceName: c.settings.edsServiceName } : {}),
      circuitBreakers: { thresholds: [{ maxConnections: b.maxConnections, maxPendingRequests: b.maxPendingRequests, maxRequests: b.maxRequests, maxRetries: b.maxRetries }] },
      hostStatuses: c.hosts.map((h) => {
        const num = hostNumbers(s, c.name, h);
        const f = h.healthFlags;
        return {
          address: h.pipe ? { pipe: { path: h.pipe } } : { socketAddress: { address: h.address, portValue: h.port } },
          stats: [
            { name: 'rq_error', value: String(num.error) },
            { name: 'rq_success', value: String(num.total - num.error) },
            { name: 'rq_total', value: String(num.total) },
            { type: 'GAUGE', name: 'rq_active', value: String(num.active) },
          ],
          healthStatus: {
            edsHealthStatus: f & HealthFlag.EdsUnhealthy ? 'UNHEALTHY' : f & HealthFlag.EdsDraining ? 'DRAINING' : f & HealthFlag.Degraded ? 'DEGRADED' : 'HEALTHY',
            ...(f & HealthFlag.ActiveHcFailed ? { failedActiveHealthCheck: true } : {}),
            ...(f & HealthFlag.OutlierEjected ? { failedOutlierCheck: true } : {}),
            ...(f & HealthFlag.DegradedActiveHc ? { failedActiveDegradedCheck: true } : {}),
            ...(f & HealthFlag.PendingActiveHc ? { pendingActiveHc: true } : {}),
          },
          weight: h.weight,
          hostname: h.hostname || undefined,
          locality: { region: h.locality.region || undefined, zone: h.locality.zone || undefined, subZone: h.locality.subZone || undefined },
          priority: h.priority || undefined,
        };
      }),
    });
  }
  return { clusterStatuses: statuses };
}
