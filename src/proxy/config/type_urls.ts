// The xDS resource types the proxy consumes, by type URL.
export const LISTENER = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
export const SECRET = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

export type ResourceType = typeof LISTENER | typeof ROUTE | typeof CLUSTER | typeof ENDPOINT | typeof SECRET;

export const RESOURCE_TYPES: readonly ResourceType[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET];

/** The name field of each resource type (ClusterLoadAssignment is keyed by cluster_name). */
export function resourceName(type: ResourceType, r: { [k: string]: any }): string {
  if (type === ENDPOINT) return String(r.clusterName ?? r.cluster_name ?? '');
  return String(r.name ?? '');
}

export const KIND_OF: Record<ResourceType, 'Listener' | 'RouteConfiguration' | 'Cluster' | 'ClusterLoadAssignment' | 'Secret'> = {
  [LISTENER]: 'Listener',
  [ROUTE]: 'RouteConfiguration',
  [CLUSTER]: 'Cluster',
  [ENDPOINT]: 'ClusterLoadAssignment',
  [SECRET]: 'Secret',
};
