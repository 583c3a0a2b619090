// The discovery messages on the ADS stream. Requests are small and decoded through the codec into
// their JSON form; responses are assembled from a small encoded header plus the resource chunks
// the snapshot encoded once (protobuf concatenation appends repeated fields).
import { fromBinary, toBinary } from '../proto/index.js';

export const DISCOVERY_REQUEST = 'envoy.service.discovery.v3.DiscoveryRequest';
export const DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DiscoveryResponse';
export const DELTA_DISCOVERY_REQUEST = 'envoy.service.discovery.v3.DeltaDiscoveryRequest';
export const DELTA_DISCOVERY_RESPONSE = 'envoy.service.discovery.v3.DeltaDiscoveryResponse';

export interface Node {
  id?: string;
  cluster?: string;
  userAgentName?: string;
  userAgentVersion?: string;
  [key: string]: unknown;
}

/** google.rpc.Status, as a NACK carries it. */
export interface Status {
  code?: number;
  message?: string;
}

export interface DiscoveryRequest {
  versionInfo?: string;
  node?: Node;
  resourceNames?: string[];
  typeUrl?: string;
  responseNonce?: string;
  errorDetail?: Status;
}

export interface DiscoveryResponse {
  versionInfo?: string;
  resources?: unknown[];
  typeUrl?: string;
  nonce?: string;
}

export interface DeltaDiscoveryRequest {
  node?: Node;
  typeUrl?: string;
  resourceNamesSubscribe?: string[];
  resourceNamesUnsubscribe?: string[];
  initialResourceVersions?: Record<string, string>;
  responseNonce?: string;
  errorDetail?: Status;
}

export interface DeltaResource {
  name?: string;
  version?: string;
  resource?: unknown;
}

export interface DeltaDiscoveryResponse {
  systemVersionInfo?: string;
  resources?: DeltaResource[];
  typeUrl?: string;
  removedResources?: string[];
  nonce?: string;
}

export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  return fromBinary(DISCOVERY_REQUEST, bytes) as DiscoveryRequest;
}

export function decodeDeltaDiscoveryRequest(bytes: Uint8Array): DeltaDiscoveryRequest {
  return fromBinary(DELTA_DISCOVERY_REQUEST, bytes) as DeltaDiscoveryRequest;
}

function join(head: Uint8Array, chunks: readonly Uint8Array[], tail?: Uint8Array): Buffer {
  const parts: Uint8Array[] = [head, ...chunks];
  if (tail) parts.push(tail);
  return Buffer.concat(parts);
}

export function encodeDiscoveryResponse(versionInfo: string, typeUrl: string, nonce: string, chunks: readonly Uint8Array[]): Buffer {
  return join(toBinary(DISCOVERY_RESPONSE, { versionInfo, typeUrl, nonce }), chunks);
}

export function encodeDeltaDiscoveryResponse(
  systemVersionInfo: string, typeUrl: string, nonce: string, chunks: readonly Uint8Array[], removed: readonly string[],
): Buffer {
  const head = toBinary(DELTA_DISCOVERY_RESPONSE, { systemVersionInfo, typeUrl, nonce });
  return join(head, chunks, removed.length ? toBinary(DELTA_DISCOVERY_RESPONSE, { removedResources: removed }) : undefined);
}
