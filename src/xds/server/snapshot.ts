// A snapshot: the complete xDS configuration of one IR key at one version, resources grouped by
// type URL and encoded once, when the snapshot is made. Each resource keeps its ready-to-send
// bytes for both protocols (an Any for state-of-the-world, a Resource for delta) and a version
// derived from its content, so unchanged resources are never re-sent to delta clients and a
// type whose resources did not change keeps its version.
import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import { ProtoError, TYPE_URL, toBinary } from '../proto/index.js';
import type { CheckCache } from '../proto/check-cache.js';
import { registry } from '../proto/registry.js';
import protobuf from 'protobufjs/minimal.js';

export interface SnapshotResource {
  readonly name: string;
  /** Content hash of the encoded resource. */
  readonly version: string;
  /** The resource as given (proto3 JSON), for config dumps and the built-in proxy. */
  readonly json: unknown;
  /** `resources` entry of a DiscoveryResponse: tag, length and the google.protobuf.Any. */
  readonly sotwChunk: Uint8Array;
  /** `resources` entry of a DeltaDiscoveryResponse: tag, length and the Resource message. */
  readonly deltaChunk: Uint8Array;
}

export interface TypeResources {
  readonly typeUrl: string;
  /** Version of the whole set: a hash of the names and versions of its resources. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, SnapshotResource>;
}

export interface Snapshot {
  /** The version the control plane gave (e.g. a counter or a hash of the IR). */
  readonly version: string;
  readonly types: ReadonlyMap<string, TypeResources>;
}

export interface SnapshotProblem {
  typeUrl: string;
  resource: string;
  field: string;
  message: string;
}

/** The name of a resource, where each xDS type keeps it. */
export function resourceName(typeUrl: string, json: unknown): string {
  const o = json as Record<string, unknown>;
  const name = typeUrl === TYPE_URL.endpoint ? o['clusterName'] ?? o['cluster_name'] : o['name'];
  return typeof name === 'string' ? name : '';
}

/** A short content hash: one-shot where Node has it (crypto.hash), as it runs per resource. */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Uint8Array | string, enc: 'base64url') => string }).hash;

function hash(data: Uint8Array | string): string {
  return (oneShot ? oneShot('sha256', data, 'base64url') : createHash('sha256').update(data).digest('base64url')).slice(0, 16);
}

interface Tags {
  sotw: number;
  delta: number;
  typeUrl: number;
  value: number;
  name: number;
  version: number;
  resource: number;
}

let tagCache: Tags | undefined;

/** Field tags of the response messages, taken from the schema rather than written out. */
function tags(): Tags {
  if (tagCache) return tagCache;
  const r = registry();
  const tag = (message: string, field: string): number => r.message(message).byKey.get(field)!.delimitedTag;
  return (tagCache = {
    sotw: tag('envoy.service.discovery.v3.DiscoveryResponse', 'resources'),
    delta: tag('envoy.service.discovery.v3.DeltaDiscoveryResponse', 'resources'),
    typeUrl: tag('google.protobuf.Any', 'type_url'),
    value: tag('google.protobuf.Any', 'value'),
    name: tag('envoy.service.discovery.v3.Resource', 'name'),
    version: tag('envoy.service.discovery.v3.Resource', 'version'),
    resource: tag('envoy.service.discovery.v3.Resource', 'resource'),
  });
}

/** Encodes one resource into both response forms. Throws ProtoError when it does not encode. */
export function encodeResource(typeUrl: string, json: unknown, name = resourceName(typeUrl, json)): SnapshotResource {
  return wrapResource(typeUrl, json, name, toBinary(typeUrl, json));
}

/** Both response forms of encoded resources, by their bytes (which a CheckCache keeps alive while they are in use). */
const wrapped = new WeakMap<Uint8Array, SnapshotResource>();

/** A resource already encoded, in both response forms. */
function wrapResource(typeUrl: string, json: unknown, name: string, value: Uint8Array): SnapshotResource {
  const known = wrapped.get(value);
  if (known && known.name === name) return known.json === json ? known : { ...known, json };
  const t = tags();
  const version = hash(value);
  const w = protobuf.Writer.create();
  // google.protobuf.Any { type_url, value }
  w.uint32(t.sotw).fork().uint32(t.typeUrl).string(typeUrl).uint32(t.value).bytes(value).ldelim();
  const sotwChunk = w.finish();
  // envoy.service.discovery.v3.Resource { name, version, resource: Any }
  const d = protobuf.Writer.create();
  d.uint32(t.delta).fork()
    .uint32(t.name).string(name)
    .uint32(t.version).string(version)
    .uint32(t.resource).fork().uint32(t.typeUrl).string(typeUrl).uint32(t.value).bytes(value).ldelim()
    .ldelim();
  const r = { name, version, json, sotwChunk, deltaChunk: d.finish() };
  wrapped.set(value, r);
  return r;
}

/**
 * Builds a snapshot from resources in the proto3 JSON mapping, keyed by type URL. A resource
 * that does not encode (unknown field, wrong value) is left out and reported; the rest is served.
 * With a CheckCache, resources it has seen (validated during translation, or unchanged since
 * the last snapshot) are not encoded again.
 */
export function makeSnapshot(version: string, byType: Record<string, readonly unknown[]>, cache?: CheckCache): { snapshot: Snapshot; problems: SnapshotProblem[] } {
  const problems: SnapshotProblem[] = [];
  const types = new Map<string, TypeResources>();
  for (const [typeUrl, list] of Object.entries(byType)) {
    const resources = new Map<string, SnapshotResource>();
    for (const json of list) {
      const name = resourceName(typeUrl, json);
      if (cache) {
        const encoded = cache.encode(typeUrl, json);
        if ('bytes' in encoded) resources.set(name, wrapResource(typeUrl, json, name, encoded.bytes));
        else problems.push({ typeUrl, resource: name, field: encoded.field, message: encoded.message });
        continue;
      }
      try {
        resources.set(name, encodeResource(typeUrl, json, name));
      } catch (err) {
        if (!(err instanceof ProtoError)) throw err;
        problems.push({ typeUrl, resource: name, field: err.field, message: err.reason });
      }
    }
    types.set(typeUrl, { typeUrl, version: setVersion(resources), resources });
  }
  return { snapshot: { version, types }, problems };
}

function setVersion(resources: ReadonlyMap<string, SnapshotResource>): string {
  if (resources.size === 0) return 'empty';
  const h = createHash('sha256');
  for (const name of [...resources.keys()].sort()) h.update(name).update('\0').update(resources.get(name)!.version).update('\0');
  return h.digest('base64url').slice(0, 16);
}
