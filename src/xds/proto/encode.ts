// proto3 JSON → protobuf binary, in one pass straight into a protobufjs Writer (no intermediate
// message objects). Accepts what the JSON mapping's parser accepts: JSON and proto field names,
// enum names or numbers, numbers as strings, null for "not set"; rejects unknown fields, unknown
// enum names and unknown Any types, naming the path.
import protobuf from 'protobufjs/minimal.js';
import { MapKey, ProtoError, rethrowWithin, show } from './errors.js';
import { type FieldType, type MessageType, Wire, messageName, registry, wireTypeOf } from './registry.js';
import {
  type ScalarValue, isDefaultScalar, parseDuration, parseFieldMask, parseMapKey, parseScalar, parseTimestamp,
} from './scalars.js';
import type { ScalarType } from './schema.js';

type Writer = protobuf.Writer;
type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Encodes one message of `type` into bytes. Throws ProtoError with the path of the first problem. */
export function encodeMessage(type: MessageType, json: unknown): Uint8Array {
  const w = protobuf.Writer.create();
  writeMessage(type, json, w);
  return w.finish();
}

function writeScalar(w: Writer, type: ScalarType, v: ScalarValue): void {
  switch (type) {
    case 'int32': w.int32(v as number); break;
    case 'uint32': w.uint32(v as number); break;
    case 'sint32': w.sint32(v as number); break;
    case 'fixed32': w.fixed32(v as number); break;
    case 'sfixed32': w.sfixed32(v as number); break;
    // protobufjs takes 64-bit values as numbers or decimal strings (via Long).
    case 'int64': w.int64(v as number); break;
    case 'uint64': w.uint64(v as number); break;
    case 'sint64': w.sint64(v as number); break;
    case 'fixed64': w.fixed64(v as number); break;
    case 'sfixed64': w.sfixed64(v as number); break;
    case 'double': w.double(v as number); break;
    case 'float': w.float(v as number); break;
    case 'bool': w.bool(v as boolean); break;
    case 'string': w.string(v as string); break;
    case 'bytes': w.bytes(v as Uint8Array); break;
  }
}

function enumNumber(field: FieldType, value: unknown): number {
  const e = field.enumType;
  if (typeof value === 'string') {
    const n = e.byName.get(value);
    if (n !== undefined) return n;
    throw new ProtoError(`unknown value ${show(value)} for enum ${e.fullName}`);
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= -0x80000000 && value <= 0x7fffffff) return value;
  if (value === null && e.fullName === 'google.protobuf.NullValue') return 0;
  throw new ProtoError(`expected a name of enum ${e.fullName}, got ${show(value)}`);
}

/** Writes one element of `field` (a scalar, enum or message) with its tag, honouring implicit presence. */
function writeElement(field: FieldType, value: unknown, w: Writer, implicit: boolean): void {
  switch (field.kind) {
    case 'message':
      w.uint32(field.tag).fork();
      writeMessage(field.message, value, w);
      w.ldelim();
      return;
    case 'enum': {
      const n = enumNumber(field, value);
      if (implicit && n === 0) return;
      w.uint32(field.tag).int32(n);
      return;
    }
    default: {
      const v = parseScalar(field.scalar as ScalarType, value);
      if (implicit && isDefaultScalar(v)) return;
      w.uint32(field.tag);
      writeScalar(w, field.scalar as ScalarType, v);
    }
  }
}

function writeField(field: FieldType, value: unknown, w: Writer): void {
  if (field.isMap) {
    if (!isObject(value)) throw new ProtoError(`expected an object for map field, got ${show(value)}`);
    const keyType = field.keyType!;
    const keyTag = (1 << 3) | wireTypeOf(keyType);
    const valueTag = ((2 << 3) | (field.kind === 'message' ? Wire.Delimited : wireTypeOf(field.scalar))) >>> 0;
    for (const key in value) {
      const v = value[key];
      try {
        const k = parseMapKey(keyType, key);
        w.uint32(field.delimitedTag).fork();
        w.uint32(keyTag);
        writeScalar(w, keyType, k);
        if (field.kind === 'message') {
          w.uint32(valueTag).fork();
          writeMessage(field.message, v, w);
          w.ldelim();
        } else if (field.kind === 'enum') {
          w.uint32(valueTag).int32(enumNumber(field, v));
        } else {
          w.uint32(valueTag);
          writeScalar(w, field.scalar as ScalarType, parseScalar(field.scalar as ScalarType, v));
        }
        w.ldelim();
      } catch (err) {
        rethrowWithin(err, new MapKey(key));
      }
    }
    return;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw new ProtoError(`expected a list, got ${show(value)}`);
    if (field.packed) {
      if (value.length === 0) return;
      w.uint32(field.delimitedTag).fork();
      for (let i = 0; i < value.length; i++) {
        try {
          if (field.kind === 'enum') w.int32(enumNumber(field, value[i]));
          else writeScalar(w, field.scalar as ScalarType, parseScalar(field.scalar as ScalarType, value[i]));
        } catch (err) {
          rethrowWithin(err, i);
        }
      }
      w.ldelim();
      return;
    }
    for (let i = 0; i < value.length; i++) {
      const el = value[i];
      try {
        if (el === null && !acceptsNull(field)) throw new ProtoError('null is not allowed in a list');
        writeElement(field, el, w, false);
      } catch (err) {
        rethrowWithin(err, i);
      }
    }
    return;
  }
  writeElement(field, value, w, !field.presence);
}

/** Writes the fields of a message (without its own tag and length). */
export function writeMessage(type: MessageType, json: unknown, w: Writer): void {
  if (type.wellKnown) writeWellKnown(type, json, w);
  else if (isObject(json)) writeFields(type, json, w, undefined);
  else throw new ProtoError(`expected an object for ${type.fullName}, got ${show(json)}`);
}

/** The fields of an ordinary message; `skip` is the "@type" key when the object is an Any's body. */
function writeFields(type: MessageType, json: JsonObject, w: Writer, skip: string | undefined): void {
  let oneofsSeen: string[] | undefined;
  for (const key in json) {
    if (key === skip) continue;
    const value = json[key];
    const field = type.byKey.get(key);
    if (!field) throw new ProtoError(`unknown field ${show(key)} in ${type.fullName}`).within(key);
    // null means "not set", except where null is a value (google.protobuf.Value / NullValue).
    if (value === null && !acceptsNull(field)) continue;
    try {
      if (field.name !== field.jsonName && json[key === field.name ? field.jsonName : field.name] !== undefined) {
        throw new ProtoError(`field given twice, as ${show(field.jsonName)} and ${show(field.name)}`);
      }
      if (field.oneof) {
        if (oneofsSeen?.includes(field.oneof)) throw new ProtoError(`more than one field of oneof ${field.oneof} is set`);
        (oneofsSeen ??= []).push(field.oneof);
      }
      writeField(field, value, w);
    } catch (err) {
      rethrowWithin(err, key);
    }
  }
}

function acceptsNull(field: FieldType): boolean {
  return field.kind === 'message' ? field.message.wellKnown === 'Value' : field.kind === 'enum' && field.enumType.fullName === 'google.protobuf.NullValue';
}

// ---- well-known types ----

function writeSecondsNanos(w: Writer, seconds: number, nanos: number): void {
  if (seconds !== 0) w.uint32((1 << 3) | Wire.Varint).int64(seconds);
  if (nanos !== 0) w.uint32((2 << 3) | Wire.Varint).int32(nanos);
}

function writeWellKnown(type: MessageType, json: unknown, w: Writer): void {
  switch (type.wellKnown!) {
    case 'Any': return writeAny(json, w);
    case 'Duration': {
      const d = parseDuration(json);
      return writeSecondsNanos(w, d.seconds, d.nanos);
    }
    case 'Timestamp': {
      const t = parseTimestamp(json);
      return writeSecondsNanos(w, t.seconds, t.nanos);
    }
    case 'FieldMask':
      for (const path of parseFieldMask(json)) w.uint32((1 << 3) | Wire.Delimited).string(path);
      return;
    case 'Struct':
      if (!isObject(json)) throw new ProtoError(`expected an object for google.protobuf.Struct, got ${show(json)}`);
      return writeStructFields(json, w);
    case 'ListValue':
      if (!Array.isArray(json)) throw new ProtoError(`expected a list for google.protobuf.ListValue, got ${show(json)}`);
      return writeListValues(json, w);
    case 'Value':
      return writeValue(json, w);
    default: {
      // Wrappers: the JSON value is the wrapped scalar, field 1.
      const field = type.fields[0]!;
      const v = parseScalar(field.scalar as ScalarType, json);
      if (isDefaultScalar(v)) return;
      w.uint32(field.tag);
      writeScalar(w, field.scalar as ScalarType, v);
    }
  }
}

function writeStructFields(json: JsonObject, w: Writer): void {
  for (const key in json) {
    try {
      w.uint32((1 << 3) | Wire.Delimited).fork();
      w.uint32((1 << 3) | Wire.Delimited).string(key);
      w.uint32((2 << 3) | Wire.Delimited).fork();
      writeValue(json[key], w);
      w.ldelim();
      w.ldelim();
    } catch (err) {
      rethrowWithin(err, new MapKey(key));
    }
  }
}

function writeListValues(list: unknown[], w: Writer): void {
  for (let i = 0; i < list.length; i++) {
    try {
      w.uint32((1 << 3) | Wire.Delimited).fork();
      writeValue(list[i], w);
      w.ldelim();
    } catch (err) {
      rethrowWithin(err, i);
    }
  }
}

/** google.protobuf.Value: oneof null_value=1, number_value=2, string_value=3, bool_value=4, struct_value=5, list_value=6. */
function writeValue(json: unknown, w: Writer): void {
  if (json === null) w.uint32((1 << 3) | Wire.Varint).int32(0);
  else if (typeof json === 'number') {
    if (!Number.isFinite(json)) throw new ProtoError('google.protobuf.Value cannot hold NaN or Infinity');
    w.uint32((2 << 3) | Wire.Fixed64).double(json);
  } else if (typeof json === 'string') w.uint32((3 << 3) | Wire.Delimited).string(json);
  else if (typeof json === 'boolean') w.uint32((4 << 3) | Wire.Varint).bool(json);
  else if (Array.isArray(json)) {
    w.uint32((6 << 3) | Wire.Delimited).fork();
    writeListValues(json, w);
    w.ldelim();
  } else if (typeof json === 'object') {
    w.uint32((5 << 3) | Wire.Delimited).fork();
    writeStructFields(json as JsonObject, w);
    w.ldelim();
  } else throw new ProtoError(`${typeof json} is not a JSON value`);
}

function writeAny(json: unknown, w: Writer): void {
  if (!isObject(json)) throw new ProtoError(`expected an object for google.protobuf.Any, got ${show(json)}`);
  const typeUrl = json['@type'];
  if (typeUrl === undefined) {
    for (const key in json) throw new ProtoError(`google.protobuf.Any has fields but no "@type"`).within(key);
    return;
  }
  if (typeof typeUrl !== 'string' || !typeUrl.includes('/')) throw new ProtoError(`"@type" must be a type URL, got ${show(typeUrl)}`).within('@type');
  const inner = registry().findMessage(messageName(typeUrl));
  if (!inner) throw new ProtoError(`unknown type ${show(typeUrl)}`).within('@type');
  w.uint32((1 << 3) | Wire.Delimited).string(typeUrl);
  w.uint32((2 << 3) | Wire.Delimited).fork();
  if (inner.wellKnown) {
    // A well-known type keeps its special JSON form under "value".
    for (const key in json) {
      if (key !== '@type' && key !== 'value') throw new ProtoError(`unknown field ${show(key)} in ${typeUrl}`).within(key);
    }
    try {
      writeWellKnown(inner, json['value'], w);
    } catch (err) {
      rethrowWithin(err, 'value');
    }
  } else {
    writeFields(inner, json, w, '@type');
  }
  w.ldelim();
}
