// protobuf binary → canonical proto3 JSON, in one pass from a protobufjs Reader: lowerCamelCase
// names, enums by name, 64-bit integers as strings, bytes in base64, fields at their default value
// left out unless they have explicit presence, well-known types in their special forms and Any
// as {"@type": ..., ...fields}. Unknown fields on the wire are skipped, as protobuf requires.
import protobuf from 'protobufjs/minimal.js';
import { ProtoError, rethrowWithin } from './errors.js';
import { type FieldType, type MessageType, Wire, messageName, registry } from './registry.js';
import { formatDouble, formatDuration, formatFieldMask, formatFloat, formatTimestamp } from './scalars.js';
import type { ScalarType } from './schema.js';

type Reader = protobuf.Reader;
type JsonObject = Record<string, unknown>;

export function decodeMessage(type: MessageType, bytes: Uint8Array): unknown {
  const r = protobuf.Reader.create(bytes);
  return readMessage(type, r, r.len);
}

function readScalar(r: Reader, type: ScalarType): unknown {
  switch (type) {
    case 'int32': return r.int32();
    case 'uint32': return r.uint32();
    case 'sint32': return r.sint32();
    case 'fixed32': return r.fixed32();
    case 'sfixed32': return r.sfixed32();
    case 'int64': return r.int64().toString();
    case 'uint64': return r.uint64().toString();
    case 'sint64': return r.sint64().toString();
    case 'fixed64': return r.fixed64().toString();
    case 'sfixed64': return r.sfixed64().toString();
    case 'double': return formatDouble(r.double());
    case 'float': return formatFloat(r.float());
    case 'bool': return r.bool();
    case 'string': return r.string();
    case 'bytes': return Buffer.from(r.bytes()).toString('base64');
  }
}

function isDefaultJson(value: unknown): boolean {
  return value === 0 || value === '' || value === false || value === '0';
}

function readEnum(field: FieldType, r: Reader): string | number | null {
  const n = r.int32();
  const e = field.enumType;
  if (e.fullName === 'google.protobuf.NullValue') return null;
  return e.byNumber.get(n) ?? n;
}

/** One element of a field: a scalar, an enum or a (length-delimited) message. */
function readElement(field: FieldType, r: Reader): unknown {
  if (field.kind === 'message') {
    const end = r.uint32() + r.pos;
    return readMessage(field.message, r, end);
  }
  if (field.kind === 'enum') return readEnum(field, r);
  return readScalar(r, field.scalar as ScalarType);
}

function defaultOf(field: FieldType): unknown {
  if (field.kind === 'message') return field.message.wellKnown ? defaultWellKnown(field.message) : {};
  if (field.kind === 'enum') return field.enumType.byNumber.get(0) ?? 0;
  switch (field.scalar) {
    case 'bool': return false;
    case 'string': case 'bytes': return '';
    case 'int64': case 'uint64': case 'sint64': case 'fixed64': case 'sfixed64': return '0';
    default: return 0;
  }
}

function readMapEntry(field: FieldType, r: Reader, out: JsonObject): void {
  const end = r.uint32() + r.pos;
  let key: unknown;
  let value: unknown;
  while (r.pos < end) {
    const tag = r.uint32();
    const n = tag >>> 3;
    if (n === 1) key = readScalar(r, field.keyType!);
    else if (n === 2) value = readElement(field, r);
    else r.skipType(tag & 7);
  }
  if (key === undefined) key = field.keyType === 'bool' ? false : field.keyType === 'string' ? '' : 0;
  out[String(key)] = value === undefined ? defaultOf(field) : value;
}

/** Reads fields up to `end` into a new object, or into `into` (merging, as protobuf does). */
export function readMessage(type: MessageType, r: Reader, end: number, into?: JsonObject): unknown {
  if (type.wellKnown) return readWellKnown(type, r, end);
  const out: JsonObject = into ?? {};
  while (r.pos < end) {
    const tag = r.uint32();
    const field = type.byNumber.get(tag >>> 3);
    if (!field) {
      r.skipType(tag & 7);
      continue;
    }
    try {
      if (field.isMap) {
        const map = (out[field.jsonName] ??= {}) as JsonObject;
        readMapEntry(field, r, map);
      } else if (field.repeated) {
        const list = (out[field.jsonName] ??= []) as unknown[];
        if ((tag & 7) === Wire.Delimited && field.kind !== 'message' && field.scalar !== 'string' && field.scalar !== 'bytes') {
          // Packed (the writer's choice, whatever the field's default).
          const packedEnd = r.uint32() + r.pos;
          while (r.pos < packedEnd) list.push(field.kind === 'enum' ? readEnum(field, r) : readScalar(r, field.scalar as ScalarType));
        } else list.push(readElement(field, r));
      } else if (field.kind === 'message' && !field.message.wellKnown && out[field.jsonName] !== undefined) {
        // A message field seen again merges into the first.
        const msgEnd = r.uint32() + r.pos;
        readMessage(field.message, r, msgEnd, out[field.jsonName] as JsonObject);
      } else {
        const value = readElement(field, r);
        if (field.oneof) clearOtherMembers(type, field, out);
        if (field.presence || !isDefaultJson(value)) out[field.jsonName] = value;
        else if (out[field.jsonName] !== undefined) delete out[field.jsonName];
      }
    } catch (err) {
      rethrowWithin(err, field.jsonName);
    }
  }
  return out;
}

function clearOtherMembers(type: MessageType, field: FieldType, out: JsonObject): void {
  for (const member of type.oneofs.get(field.oneof!)!) {
    if (member !== field && out[member.jsonName] !== undefined) delete out[member.jsonName];
  }
}

// ---- well-known types ----

function defaultWellKnown(type: MessageType): unknown {
  switch (type.wellKnown) {
    case 'Duration': return '0s';
    case 'Timestamp': return '1970-01-01T00:00:00Z';
    case 'FieldMask': return '';
    case 'Struct': return {};
    case 'ListValue': return [];
    case 'Value': return null;
    case 'Any': return {};
    default: return defaultOf(type.fields[0]!);
  }
}

/** protobufjs returns 64-bit values as Long objects (or plain numbers without long.js). */
function longToNumber(v: unknown): number {
  return typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber();
}

function readSecondsNanos(r: Reader, end: number): [number, number] {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | Wire.Varint)) seconds = longToNumber(r.int64());
    else if (tag === ((2 << 3) | Wire.Varint)) nanos = r.int32();
    else r.skipType(tag & 7);
  }
  return [seconds, nanos];
}

function readWellKnown(type: MessageType, r: Reader, end: number): unknown {
  switch (type.wellKnown!) {
    case 'Any': return readAny(r, end);
    case 'Duration': return formatDuration(...readSecondsNanos(r, end));
    case 'Timestamp': return formatTimestamp(...readSecondsNanos(r, end));
    case 'FieldMask': {
      const paths: string[] = [];
      while (r.pos < end) {
        const tag = r.uint32();
        if (tag === ((1 << 3) | Wire.Delimited)) paths.push(r.string());
        else r.skipType(tag & 7);
      }
      return formatFieldMask(paths);
    }
    case 'Struct': return readStruct(r, end);
    case 'ListValue': return readList(r, end);
    case 'Value': return readValue(r, end);
    default: {
      // Wrappers print the wrapped value itself.
      const field = type.fields[0]!;
      let value: unknown;
      while (r.pos < end) {
        const tag = r.uint32();
        if (tag >>> 3 === 1) value = readScalar(r, field.scalar as ScalarType);
        else r.skipType(tag & 7);
      }
      return value === undefined ? defaultOf(field) : value;
    }
  }
}

function readStruct(r: Reader, end: number): JsonObject {
  const out: JsonObject = {};
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag !== ((1 << 3) | Wire.Delimited)) {
      r.skipType(tag & 7);
      continue;
    }
    const entryEnd = r.uint32() + r.pos;
    let key = '';
    let value: unknown = null;
    while (r.pos < entryEnd) {
      const t = r.uint32();
      if (t === ((1 << 3) | Wire.Delimited)) key = r.string();
      else if (t === ((2 << 3) | Wire.Delimited)) {
        const valueEnd = r.uint32() + r.pos;
        value = readValue(r, valueEnd);
      } else r.skipType(t & 7);
    }
    out[key] = value;
  }
  return out;
}

function readList(r: Reader, end: number): unknown[] {
  const out: unknown[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | Wire.Delimited)) {
      const valueEnd = r.uint32() + r.pos;
      out.push(readValue(r, valueEnd));
    } else r.skipType(tag & 7);
  }
  return out;
}

function readValue(r: Reader, end: number): unknown {
  let value: unknown = null;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: r.int32(); value = null; break;
      case 2: {
        const n = r.double();
        if (!Number.isFinite(n)) throw new ProtoError('google.protobuf.Value holds NaN or Infinity, which JSON cannot');
        value = n;
        break;
      }
      case 3: value = r.string(); break;
      case 4: value = r.bool(); break;
      case 5: { const e = r.uint32() + r.pos; value = readStruct(r, e); break; }
      case 6: { const e = r.uint32() + r.pos; value = readList(r, e); break; }
      default: r.skipType(tag & 7);
    }
  }
  return value;
}

function readAny(r: Reader, end: number): JsonObject {
  let typeUrl = '';
  let valueStart = -1;
  let valueEnd = -1;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag === ((1 << 3) | Wire.Delimited)) typeUrl = r.string();
    else if (tag === ((2 << 3) | Wire.Delimited)) {
      const len = r.uint32();
      valueStart = r.pos;
      valueEnd = r.pos + len;
      r.pos = valueEnd;
    } else r.skipType(tag & 7);
  }
  if (!typeUrl) {
    if (valueStart >= 0 && valueEnd > valueStart) throw new ProtoError('google.protobuf.Any has a value but no type URL');
    return {};
  }
  const inner = registry().findMessage(messageName(typeUrl));
  if (!inner) throw new ProtoError(`unknown type ${JSON.stringify(typeUrl)}`).within('@type');
  const out: JsonObject = { '@type': typeUrl };
  const resume = r.pos;
  if (valueStart < 0) {
    valueStart = valueEnd = resume;
  }
  r.pos = valueStart;
  if (inner.wellKnown) out['value'] = readWellKnown(inner, r, valueEnd);
  else readMessage(inner, r, valueEnd, out);
  r.pos = resume;
  return out;
}
