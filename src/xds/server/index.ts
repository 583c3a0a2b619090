// The xDS (ADS) server: snapshots per IR key served over gRPC, state of the world and delta.
export { SnapshotCache } from './cache.js';
export type { Nack, ProxyConnection, TypeStatus, XdsServerEvents } from './connection.js';
export { type Snapshot, type SnapshotProblem, type SnapshotResource, type TypeResources, encodeResource, makeSnapshot, resourceName } from './snapshot.js';
export { AggregatedDiscoveryService, type TlsOptions, XdsServer, type XdsServerOptions, serverCredentials } from './server.js';
export { PUSH_ORDER } from './stream.js';
