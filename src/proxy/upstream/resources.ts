// Circuit breaker accounting for one cluster: live counts against the thresholds, and counts of
// overflows (stats upstream_rq_pending_overflow, ...).
import type { CircuitBreakers } from './cluster_config.js';

export class ClusterResources {
  connections = 0;
  pendingRequests = 0;
  activeRequests = 0;
  activeRetries = 0;
  overflowPending = 0;
  overflowRequests = 0;
  overflowRetries = 0;
  constructor(public breakers: CircuitBreakers) {}
}
