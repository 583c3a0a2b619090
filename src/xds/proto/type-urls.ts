// Type URLs of the xDS resources egts produces and serves.

export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
  secret: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret',
  runtime: 'type.googleapis.com/envoy.service.runtime.v3.Runtime',
} as const;

export type ResourceTypeUrl = (typeof TYPE_URL)[keyof typeof TYPE_URL];

/** The type URL of a message name (`envoy.config.listener.v3.Listener`). */
export function typeUrlOf(messageName: string): string {
  return `type.googleapis.com/${messageName}`;
}
