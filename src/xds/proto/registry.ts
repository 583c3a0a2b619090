// Message and enum descriptions compiled from the Schema for the codec and the validator: lookup
// tables by JSON key and by field number, wire types, and links to nested types resolved on first
// use. Compiled once per type and per process.
import { loadSchema } from './load.js';
import type { FieldSchema, MessageSchema, ScalarType, Schema } from './schema.js';

/** Wire types of the protobuf encoding. */
export const enum Wire {
  Varint = 0,
  Fixed64 = 1,
  Delimited = 2,
  Fixed32 = 5,
}

/** Messages whose JSON form is not an object of their fields (the proto3 JSON mapping's special cases). */
export type WellKnown =
  | 'Any' | 'Duration' | 'Timestamp' | 'FieldMask' | 'Struct' | 'Value' | 'ListValue'
  | 'DoubleValue' | 'FloatValue' | 'Int64Value' | 'UInt64Value' | 'Int32Value' | 'UInt32Value'
  | 'BoolValue' | 'StringValue' | 'BytesValue';

const WELL_KNOWN = new Set<string>([
  'Any', 'Duration', 'Timestamp', 'FieldMask', 'Struct', 'Value', 'ListValue',
  'DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value',
  'BoolValue', 'StringValue', 'BytesValue',
]);

export function wireTypeOf(scalar: ScalarType | 'enum' | 'message'): Wire {
  switch (scalar) {
    case 'double': case 'fixed64': case 'sfixed64': return Wire.Fixed64;
    case 'float': case 'fixed32': case 'sfixed32': return Wire.Fixed32;
    case 'string': case 'bytes': case 'message': return Wire.Delimited;
    default: return Wire.Varint;
  }
}

export class EnumType {
  readonly byName: Map<string, number>;
  readonly byNumber: Map<number, string>;

  constructor(readonly fullName: string, values: Record<string, number>) {
    this.byName = new Map(Object.entries(values));
    this.byNumber = new Map();
    // With aliases, the first name declared for a number is the one printed.
    for (const [name, n] of Object.entries(values)) if (!this.byNumber.has(n)) this.byNumber.set(n, name);
  }
}

export class FieldType {
  readonly name: string;
  readonly jsonName: string;
  readonly number: number;
  readonly kind: 'scalar' | 'enum' | 'message';
  /** The scalar type, 'enum' or 'message'. */
  readonly scalar: ScalarType | 'enum' | 'message';
  readonly repeated: boolean;
  readonly isMap: boolean;
  readonly keyType: ScalarType | undefined;
  readonly presence: boolean;
  readonly packed: boolean;
  readonly oneof: string | undefined;
  /** Tag of one element: (number << 3) | wire type of the element. */
  readonly tag: number;
  /** Tag of a length-delimited record: a packed list, a map entry. */
  readonly delimitedTag: number;
  private resolvedMessage: MessageType | undefined;
  private resolvedEnum: EnumType | undefined;

  constructor(readonly schema: FieldSchema, private readonly registry: Registry) {
    this.name = schema.name;
    this.jsonName = schema.jsonName;
    this.number = schema.number;
    this.kind = schema.kind;
    this.scalar = schema.kind === 'scalar' ? (schema.type as ScalarType) : schema.kind;
    this.isMap = schema.keyType !== undefined;
    this.repeated = schema.repeated === true;
    this.keyType = schema.keyType;
    this.presence = schema.presence === true;
    this.packed = schema.packed === true;
    this.oneof = schema.oneof;
    this.tag = ((schema.number << 3) | wireTypeOf(this.scalar)) >>> 0;
    this.delimitedTag = ((schema.number << 3) | Wire.Delimited) >>> 0;
  }

  get message(): MessageType {
    return (this.resolvedMessage ??= this.registry.message(this.schema.type));
  }

  get enumType(): EnumType {
    return (this.resolvedEnum ??= this.registry.enum(this.schema.type));
  }
}

export class MessageType {
  readonly fields: FieldType[];
  /** By JSON name and by proto name, both accepted on input. */
  readonly byKey: Map<string, FieldType>;
  readonly byNumber: Map<number, FieldType>;
  readonly wellKnown: WellKnown | undefined;
  /** Members of each real oneof, by oneof name. */
  readonly oneofs: Map<string, FieldType[]>;

  constructor(readonly fullName: string, readonly schema: MessageSchema, registry: Registry) {
    this.fields = schema.fields.map((f) => new FieldType(f, registry));
    this.byKey = new Map();
    this.byNumber = new Map();
    this.oneofs = new Map();
    for (const f of this.fields) {
      this.byKey.set(f.jsonName, f);
      this.byKey.set(f.name, f);
      this.byNumber.set(f.number, f);
      if (f.oneof) {
        const members = this.oneofs.get(f.oneof);
        if (members) members.push(f);
        else this.oneofs.set(f.oneof, [f]);
      }
    }
    const short = fullName.startsWith('google.protobuf.') ? fullName.slice('google.protobuf.'.length) : '';
    this.wellKnown = WELL_KNOWN.has(short) ? (short as WellKnown) : undefined;
  }
}

export class Registry {
  private readonly messages = new Map<string, MessageType>();
  private readonly enums = new Map<string, EnumType>();

  constructor(readonly schema: Schema) {}

  /** The message type of a full name, or undefined when the schema has none. */
  findMessage(fullName: string): MessageType | undefined {
    let m = this.messages.get(fullName);
    if (m) return m;
    const s = this.schema.messages[fullName];
    if (!s) return undefined;
    m = new MessageType(fullName, s, this);
    this.messages.set(fullName, m);
    return m;
  }

  message(fullName: string): MessageType {
    const m = this.findMessage(fullName);
    if (!m) throw new Error(`proto schema has no message ${fullName}`);
    return m;
  }

  enum(fullName: string): EnumType {
    let e = this.enums.get(fullName);
    if (e) return e;
    const s = this.schema.enums[fullName];
    if (!s) throw new Error(`proto schema has no enum ${fullName}`);
    e = new EnumType(fullName, s.values);
    this.enums.set(fullName, e);
    return e;
  }
}

let shared: Registry | undefined;

/** The process-wide registry over Envoy's API, loaded on first use. */
export function registry(): Registry {
  return (shared ??= new Registry(loadSchema()));
}

/** `type.googleapis.com/envoy.config.listener.v3.Listener` or the bare name → the message name. */
export function messageName(typeUrlOrName: string): string {
  const slash = typeUrlOrName.lastIndexOf('/');
  return slash < 0 ? typeUrlOrName : typeUrlOrName.slice(slash + 1);
}
