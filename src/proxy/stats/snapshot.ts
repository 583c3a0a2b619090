// A point-in-time copy of a process's statistics under Envoy's flat names, for the admin
// endpoint. With worker processes each worker sends its snapshot to the primary, which adds them
// up with its own: counters and traffic gauges are sums over the processes; gauges about the
// configuration (cluster membership, ejections, listeners) come from the primary alone, which is
// where health is decided.
import type { Proxy } from '../proxy.js';
import { allCounters, allGauges } from '../stats.js';
import { CLUSTER_STAT_NAMES, type ClusterStats } from './cluster_stats.js';
import { outlierDetectorOf } from '../health/cluster_health.js';

export interface StatsSnapshot {
  counters: Record<string, number>;
  gauges: Record<string, number>;
  /** Per host live numbers, for /clusters: cluster → host key → [rq_total, rq_error, rq_active]. */
  hosts: Record<string, Record<string, [number, number, number]>>;
}

/** Which half of the numbers a process owns: traffic (data), configuration and health (control), or both (local). */
export type StatsRole = 'local' | 'control' | 'data';

const started = Date.now();

export function uptimeSeconds(): number {
  return Math.floor((Date.now() - started) / 1000);
}

export function takeSnapshot(proxy: Proxy, role: StatsRole): StatsSnapshot {
  const counters: Record<string, number> = {};
  const gauges: Record<string, number> = {};
  const hosts: StatsSnapshot['hosts'] = {};
  const data = role !== 'control';
  const control = role !== 'data';
  for (const [name, c] of allCounters()) counters[name] = c.value;
  for (const [name, g] of allGauges()) gauges[name] = g.value;
  for (const [name, cl] of proxy.clusters) {
    const p = `cluster.${name}.`;
    const s = cl.stats;
    for (const k of Object.keys(CLUSTER_STAT_NAMES) as (keyof ClusterStats)[]) {
      if (k === 'upstream_rq_active') continue;
      counters[p + CLUSTER_STAT_NAMES[k]] = s[k];
    }
    const r = cl.resources;
    counters[`${p}upstream_rq_pending_overflow`] = s.upstream_rq_pending_overflow + r.overflowPending + r.overflowRequests;
    counters[`${p}upstream_rq_retry_overflow`] = s.upstream_rq_retry_overflow + r.overflowRetries;
    if (data) {
      let active = 0;
      const hs: Record<string, [number, number, number]> = {};
      for (const h of cl.hosts) {
        active += h.activeRequests;
        hs[h.key] = [h.rqTotal, h.rqError, h.activeRequests];
      }
      hosts[name] = hs;
      gauges[`${p}upstream_rq_active`] = active;
      gauges[`${p}upstream_cx_active`] = r.connections;
      gauges[`${p}upstream_rq_pending_active`] = r.pendingRequests;
      const b = r.breakers;
      gauges[`${p}circuit_breakers.default.cx_open`] = r.connections >= b.maxConnections ? 1 : 0;
      gauges[`${p}circuit_breakers.default.rq_pending_open`] = r.pendingRequests >= b.maxPendingRequests ? 1 : 0;
      gauges[`${p}circuit_breakers.default.rq_open`] = r.activeRequests >= b.maxRequests ? 1 : 0;
      gauges[`${p}circuit_breakers.default.rq_retry_open`] = r.activeRetries >= b.maxRetries ? 1 : 0;
    }
    if (control) {
      let healthy = 0;
      let degraded = 0;
      for (const h of cl.hosts) {
        if (h.degraded) degraded++;
        else if (h.healthy) healthy++;
      }
      gauges[`${p}membership_total`] = cl.hosts.length;
      gauges[`${p}membership_healthy`] = healthy;
      gauges[`${p}membership_degraded`] = degraded;
      if (cl.settings.outlierDetection) gauges[`${p}outlier_detection.ejections_active`] = outlierDetectorOf(cl)?.active ?? 0;
    }
  }
  if (control) {
    gauges['cluster_manager.active_clusters'] = proxy.clusters.size;
    gauges['listener_manager.total_listeners_active'] = proxy.listeners.names().length;
    gauges['server.live'] = 1;
    gauges['server.uptime'] = uptimeSeconds();
  }
  if (data) {
    const mem = process.memoryUsage();
    gauges['server.memory_allocated'] = mem.heapUsed;
    gauges['server.memory_heap_size'] = mem.heapTotal;
  }
  return { counters, gauges, hosts };
}

/** Adds `b` into `a`. */
export function mergeSnapshot(a: StatsSnapshot, b: StatsSnapshot): StatsSnapshot {
  for (const [k, v] of Object.entries(b.counters)) a.counters[k] = (a.counters[k] ?? 0) + v;
  for (const [k, v] of Object.entries(b.gauges)) a.gauges[k] = (a.gauges[k] ?? 0) + v;
  for (const [c, hs] of Object.entries(b.hosts)) {
    const into = (a.hosts[c] ??= {});
    for (const [k, v] of Object.entries(hs)) {
      const cur = into[k];
      into[k] = cur ? [cur[0] + v[0], cur[1] + v[1], cur[2] + v[2]] : [...v];
    }
  }
  return a;
}
