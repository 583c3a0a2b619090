// The statistics of one cluster (`cluster.<name>.*`), as plain numbers bumped on the hot path.
// They are kept by cluster name, so that a cluster replaced by a changed Cluster resource goes on
// counting where the old one stopped, as Envoy's stats scopes do, and dropped with the last cluster
// of that name (stats/owners.ts).
import { StatOwners } from './owners.js';

export interface ClusterStats {
  upstream_rq_total: number;
  upstream_rq_active: number;
  upstream_rq_timeout: number;
  upstream_rq_per_try_timeout: number;
  upstream_rq_retry: number;
  upstream_rq_retry_overflow: number;
  upstream_rq_pending_total: number;
  upstream_rq_pending_overflow: number;
  upstream_rq_2xx: number;
  upstream_rq_3xx: number;
  upstream_rq_4xx: number;
  upstream_rq_5xx: number;
  upstream_cx_total: number;
  upstream_cx_connect_fail: number;
  upstream_cx_connect_timeout: number;
  upstream_cx_overflow: number;
  upstream_cx_none_healthy: number;
  upstream_cx_rx_bytes_total: number;
  upstream_cx_tx_bytes_total: number;
  udp_sess_rx_datagrams: number;
  udp_sess_tx_datagrams: number;
  udp_sess_rx_errors: number;
  udp_sess_tx_errors: number;
  health_check_attempt: number;
  health_check_success: number;
  health_check_failure: number;
  health_check_network_failure: number;
  health_check_passive_failure: number;
  health_check_verify_cluster: number;
  outlier_ejections_enforced_total: number;
  outlier_ejections_overflow: number;
  outlier_ejections_enforced_consecutive_5xx: number;
  outlier_ejections_detected_consecutive_5xx: number;
  outlier_ejections_enforced_consecutive_gateway_failure: number;
  outlier_ejections_detected_consecutive_gateway_failure: number;
  outlier_ejections_enforced_consecutive_local_origin_failure: number;
  outlier_ejections_detected_consecutive_local_origin_failure: number;
  outlier_ejections_enforced_success_rate: number;
  outlier_ejections_detected_success_rate: number;
  outlier_ejections_enforced_failure_percentage: number;
  outlier_ejections_detected_failure_percentage: number;
}

/** Envoy's names for the fields whose stat name has a dot in it. */
export const CLUSTER_STAT_NAMES: Record<keyof ClusterStats, string> = {
  upstream_rq_total: 'upstream_rq_total',
  upstream_rq_active: 'upstream_rq_active',
  upstream_rq_timeout: 'upstream_rq_timeout',
  upstream_rq_per_try_timeout: 'upstream_rq_per_try_timeout',
  upstream_rq_retry: 'upstream_rq_retry',
  upstream_rq_retry_overflow: 'upstream_rq_retry_overflow',
  upstream_rq_pending_total: 'upstream_rq_pending_total',
  upstream_rq_pending_overflow: 'upstream_rq_pending_overflow',
  upstream_rq_2xx: 'upstream_rq_2xx',
  upstream_rq_3xx: 'upstream_rq_3xx',
  upstream_rq_4xx: 'upstream_rq_4xx',
  upstream_rq_5xx: 'upstream_rq_5xx',
  upstream_cx_total: 'upstream_cx_total',
  upstream_cx_connect_fail: 'upstream_cx_connect_fail',
  upstream_cx_connect_timeout: 'upstream_cx_connect_timeout',
  upstream_cx_overflow: 'upstream_cx_overflow',
  upstream_cx_none_healthy: 'upstream_cx_none_healthy',
  upstream_cx_rx_bytes_total: 'upstream_cx_rx_bytes_total',
  upstream_cx_tx_bytes_total: 'upstream_cx_tx_bytes_total',
  udp_sess_rx_datagrams: 'udp.sess_rx_datagrams',
  udp_sess_tx_datagrams: 'udp.sess_tx_datagrams',
  udp_sess_rx_errors: 'udp.sess_rx_errors',
  udp_sess_tx_errors: 'udp.sess_tx_errors',
  health_check_attempt: 'health_check.attempt',
  health_check_success: 'health_check.success',
  health_check_failure: 'health_check.failure',
  health_check_network_failure: 'health_check.network_failure',
  health_check_passive_failure: 'health_check.passive_failure',
  health_check_verify_cluster: 'health_check.verify_cluster',
  outlier_ejections_enforced_total: 'outlier_detection.ejections_enforced_total',
  outlier_ejections_overflow: 'outlier_detection.ejections_overflow',
  outlier_ejections_enforced_consecutive_5xx: 'outlier_detection.ejections_enforced_consecutive_5xx',
  outlier_ejections_detected_consecutive_5xx: 'outlier_detection.ejections_detected_consecutive_5xx',
  outlier_ejections_enforced_consecutive_gateway_failure: 'outlier_detection.ejections_enforced_consecutive_gateway_failure',
  outlier_ejections_detected_consecutive_gateway_failure: 'outlier_detection.ejections_detected_consecutive_gateway_failure',
  outlier_ejections_enforced_consecutive_local_origin_failure: 'outlier_detection.ejections_enforced_consecutive_local_origin_failure',
  outlier_ejections_detected_consecutive_local_origin_failure: 'outlier_detection.ejections_detected_consecutive_local_origin_failure',
  outlier_ejections_enforced_success_rate: 'outlier_detection.ejections_enforced_success_rate',
  outlier_ejections_detected_success_rate: 'outlier_detection.ejections_detected_success_rate',
  outlier_ejections_enforced_failure_percentage: 'outlier_detection.ejections_enforced_failure_percentage',
  outlier_ejections_detected_failure_percentage: 'outlier_detection.ejections_detected_failure_percentage',
};

const byName = new Map<string, ClusterStats>();
const owners = new StatOwners((name) => byName.delete(name));

function zero(): ClusterStats {
  const s = {} as Record<string, number>;
  for (const k of Object.keys(CLUSTER_STAT_NAMES)) s[k] = 0;
  return s as unknown as ClusterStats;
}

/**
 * The stats of the cluster with this name, for `cluster` (a Cluster object): shared with the other
 * clusters of that name still alive (a changed cluster and the one it replaces), dropped once the
 * last of them is garbage collected, as Envoy frees a removed cluster's stats scope.
 */
export function clusterStats(name: string, cluster: object): ClusterStats {
  let s = byName.get(name);
  if (!s) byName.set(name, (s = zero()));
  owners.hold(name);
  owners.ownedBy(cluster, [name]);
  return s;
}

/** How many clusters' stats are kept (live clusters and those not yet collected). */
export function keptClusterStats(): number {
  return byName.size;
}
