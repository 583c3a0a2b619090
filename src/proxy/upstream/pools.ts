// Which connection pool serves a host for a protocol.
import type { Cluster, PoolFactory } from './cluster.js';
import type { Host } from './host.js';
import type { ConnPool } from './types.js';

let h2Factory: ((cluster: Cluster, host: Host) => ConnPool) | undefined;

/** HTTP/2 pools live in h2_pool.ts, which registers itself. */
export function setH2PoolFactory(f: (cluster: Cluster, host: Host) => ConnPool): void {
  h2Factory = f;
}

export const defaultPoolFactory: PoolFactory = (cluster, host, protocol) => {
  if (protocol === 'h2') {
    if (!h2Factory) throw new Error('HTTP/2 upstreams are not available');
    return h2Factory(cluster, host);
  }
  return cluster.newH1Pool(host, cluster.settings.preserveHeaderCase);
};
