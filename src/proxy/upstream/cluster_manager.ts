// The router's view of the clusters: lookup by name (a live map the configuration layer swaps
// entries in), and the pool for a host with the right protocol.
import type { Cluster } from './cluster.js';

export interface ClusterManagerView {
  get(name: string): Cluster | undefined;
}
