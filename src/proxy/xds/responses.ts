// Turning discovery responses into resources the proxy can apply, resource by resource, so that
// one bad resource yields a NACK naming it and its field: the response is read with the codec's
// Reader, each Any decoded on its own, and checked against Envoy's validation rules as Envoy
// does before it applies anything.
import protobuf from 'protobufjs/minimal.js';
import { ProtoError, formatValidationProblem, fromBinary, validate } from '../../xds/proto/index.js';
import { registry } from '../../xds/proto/registry.js';

export interface DecodedResource {
  name: string;
  /** Per-resource version (delta only). */
  version?: string;
  /** The resource in the proto3 JSON mapping, without "@type". */
  resource: Record<string, unknown>;
}

export interface SotwResponse {
  versionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: DecodedResource[];
}

export interface DeltaResponse {
  systemVersionInfo: string;
  typeUrl: string;
  nonce: string;
  resources: DecodedResource[];
  removed: string[];
}

/** A response that cannot be applied: the message goes back to the server in the NACK. */
export class RejectedResponse extends Error {
  constructor(readonly typeUrl: string, readonly nonce: string, readonly versionInfo: string, message: string) {
    super(message);
    this.name = 'RejectedResponse';
  }
}

function shortType(typeUrl: string): string {
  const name = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  return name.slice(name.lastIndexOf('.') + 1);
}

/** Field 1 of every xDS resource type we serve is its name (cluster_name for endpoints). */
function nameOf(value: Uint8Array): string {
  try {
    const r = protobuf.Reader.create(value);
    while (r.pos < r.len) {
      const tag = r.uint32();
      if (tag === ((1 << 3) | 2)) return r.string();
      r.skipType(tag & 7);
    }
  } catch {
    // unreadable: no name
  }
  return '';
}

interface AnyParts {
  typeUrl: string;
  value: Uint8Array;
}

function readAny(bytes: Uint8Array): AnyParts {
  const r = protobuf.Reader.create(bytes);
  let typeUrl = '';
  let value: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | 2)) typeUrl = r.string();
    else if (tag === ((2 << 3) | 2)) value = r.bytes();
    else r.skipType(tag & 7);
  }
  return { typeUrl, value };
}

/** Decodes and checks one resource; throws a message naming it and the field. */
function decodeResource(expectedType: string, any: AnyParts, check: boolean): DecodedResource {
  const kind = shortType(expectedType);
  const name = nameOf(any.value);
  const where = `${kind} ${name ? `"${name}"` : '(unnamed)'}`;
  if (any.typeUrl !== expectedType) throw new Error(`${where}: resource of type ${any.typeUrl} in a ${expectedType} response`);
  let resource: Record<string, unknown>;
  try {
    resource = fromBinary(expectedType, any.value) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof ProtoError) throw new Error(`${where}: ${err.message}`);
    throw err;
  }
  if (check) {
    const problems = validate(expectedType, resource);
    if (problems.length) throw new Error(`${where}: ${problems.map(formatValidationProblem).join('; ')}`);
  }
  return { name, resource };
}

interface Fields {
  [field: string]: number;
}

function fieldNumbers(message: string): Fields {
  const out: Fields = {};
  for (const f of registry().message(message).fields) out[f.name] = f.number;
  return out;
}

let sotwFields: Fields | undefined;
let deltaFields: Fields | undefined;
let resourceFields: Fields | undefined;

export function decodeSotwResponse(bytes: Uint8Array, check: boolean): SotwResponse {
  const f = (sotwFields ??= fieldNumbers('envoy.service.discovery.v3.DiscoveryResponse'));
  const r = protobuf.Reader.create(bytes);
  const out: SotwResponse = { versionInfo: '', typeUrl: '', nonce: '', resources: [] };
  const anys: AnyParts[] = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const n = tag >>> 3;
    if (n === f['version_info']) out.versionInfo = r.string();
    else if (n === f['type_url']) out.typeUrl = r.string();
    else if (n === f['nonce']) out.nonce = r.string();
    else if (n === f['resources']) anys.push(readAny(r.bytes()));
    else r.skipType(tag & 7);
  }
  const errors: string[] = [];
  for (const any of anys) {
    try {
      out.resources.push(decodeResource(out.typeUrl, any, check));
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) throw new RejectedResponse(out.typeUrl, out.nonce, out.versionInfo, errors.join('\n'));
  return out;
}

export function decodeDeltaResponse(bytes: Uint8Array, check: boolean): DeltaResponse {
  const f = (deltaFields ??= fieldNumbers('envoy.service.discovery.v3.DeltaDiscoveryResponse'));
  const rf = (resourceFields ??= fieldNumbers('envoy.service.discovery.v3.Resource'));
  const r = protobuf.Reader.create(bytes);
  const out: DeltaResponse = { systemVersionInfo: '', typeUrl: '', nonce: '', resources: [], removed: [] };
  const entries: Array<{ name: string; version: string; any: AnyParts | undefined }> = [];
  while (r.pos < r.len) {
    const tag = r.uint32();
    const n = tag >>> 3;
    if (n === f['system_version_info']) out.systemVersionInfo = r.string();
    else if (n === f['type_url']) out.typeUrl = r.string();
    else if (n === f['nonce']) out.nonce = r.string();
    else if (n === f['removed_resources']) out.removed.push(r.string());
    else if (n === f['resources']) {
      const rr = protobuf.Reader.create(r.bytes());
      const entry: { name: string; version: string; any: AnyParts | undefined } = { name: '', version: '', any: undefined };
      while (rr.pos < rr.len) {
        const t = rr.uint32();
        const m = t >>> 3;
        if (m === rf['name']) entry.name = rr.string();
        else if (m === rf['version']) entry.version = rr.string();
        else if (m === rf['resource']) entry.any = readAny(rr.bytes());
        else rr.skipType(t & 7);
      }
      entries.push(entry);
    } else r.skipType(tag & 7);
  }
  const errors: string[] = [];
  for (const e of entries) {
    try {
      if (!e.any) throw new Error(`${shortType(out.typeUrl)} "${e.name}": the response carries no resource for it`);
      const decoded = decodeResource(out.typeUrl, e.any, check);
      out.resources.push({ ...decoded, name: e.name || decoded.name, version: e.version });
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  if (errors.length) throw new RejectedResponse(out.typeUrl, out.nonce, out.systemVersionInfo, errors.join('\n'));
  return out;
}
