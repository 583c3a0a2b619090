// The part of Envoy's proto definitions that the codec and the validator need, as plain data:
// messages with their fields (numbers, names, kinds, presence) and protoc-gen-validate rules,
// and enums with their values. It is extracted once from the .proto files (see load.ts) and can
// be cached as JSON, so a process never pays for parsing 400 .proto files twice.

/** Protobuf scalar types, named as in .proto files. */
export type ScalarType =
  | 'double' | 'float'
  | 'int32' | 'int64' | 'uint32' | 'uint64' | 'sint32' | 'sint64'
  | 'fixed32' | 'fixed64' | 'sfixed32' | 'sfixed64'
  | 'bool' | 'string' | 'bytes';

export interface FieldSchema {
  /** Name as declared in the .proto file (snake_case). */
  name: string;
  /** lowerCamelCase name of the proto3 JSON mapping (or an explicit json_name). */
  jsonName: string;
  number: number;
  /** A scalar type, or the full name (no leading dot) of a message or enum. */
  type: string;
  /** 'scalar', 'enum' or 'message': what `type` names. */
  kind: 'scalar' | 'enum' | 'message';
  repeated?: true;
  /** For map fields: the key's scalar type (the value is described by type/kind). */
  keyType?: ScalarType;
  /** Name of the (real, not synthetic) oneof this field belongs to. */
  oneof?: string;
  /** Explicit presence: written and read back even when it holds the default value. */
  presence?: true;
  /** Repeated scalars encoded packed (proto3's default for numeric types). */
  packed?: true;
  /** The `(validate.rules)` option, as written in the .proto file (snake_case keys). */
  rules?: FieldRules;
  deprecated?: true;
  /**
   * `(udpa.annotations.sensitive)`: the field holds secret data (keys, passwords, credentials),
   * which displays such as config dumps redact (see redact.ts).
   */
  sensitive?: true;
}

export interface OneofSchema {
  name: string;
  /** `(validate.required)`: exactly one member must be set. */
  required?: true;
}

export interface MessageSchema {
  fields: FieldSchema[];
  oneofs?: OneofSchema[];
  /** `(validate.disabled)` or `(validate.ignored)`: no rules are checked in this message. */
  validateDisabled?: true;
}

export interface EnumSchema {
  values: Record<string, number>;
}

export interface Schema {
  /** What the schema was built from, to tell whether a cached copy is current. */
  source: string;
  messages: Record<string, MessageSchema>;
  enums: Record<string, EnumSchema>;
}

// protoc-gen-validate rules (validate/validate.proto), with the proto field names. Only the
// shapes are typed here; numbers of 64-bit rules may arrive as numbers or strings.

export interface NumericRules {
  const?: number | string;
  lt?: number | string;
  lte?: number | string;
  gt?: number | string;
  gte?: number | string;
  in?: Array<number | string>;
  not_in?: Array<number | string>;
  ignore_empty?: boolean;
}

export interface StringRules {
  const?: string;
  len?: number;
  min_len?: number;
  max_len?: number;
  len_bytes?: number;
  min_bytes?: number;
  max_bytes?: number;
  pattern?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  not_contains?: string;
  in?: string[];
  not_in?: string[];
  email?: boolean;
  hostname?: boolean;
  ip?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  uri?: boolean;
  uri_ref?: boolean;
  address?: boolean;
  uuid?: boolean;
  well_known_regex?: 'UNKNOWN' | 'HTTP_HEADER_NAME' | 'HTTP_HEADER_VALUE';
  strict?: boolean;
  ignore_empty?: boolean;
}

export interface BytesRules {
  const?: string;
  len?: number;
  min_len?: number;
  max_len?: number;
  pattern?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  in?: string[];
  not_in?: string[];
  ip?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
  ignore_empty?: boolean;
}

export interface EnumRules {
  const?: number;
  defined_only?: boolean;
  in?: number[];
  not_in?: number[];
}

export interface MessageRules {
  skip?: boolean;
  required?: boolean;
}

export interface RepeatedRules {
  min_items?: number;
  max_items?: number;
  unique?: boolean;
  items?: FieldRules;
  ignore_empty?: boolean;
}

export interface MapRules {
  min_pairs?: number;
  max_pairs?: number;
  no_sparse?: boolean;
  keys?: FieldRules;
  values?: FieldRules;
  ignore_empty?: boolean;
}

export interface AnyRules {
  required?: boolean;
  in?: string[];
  not_in?: string[];
}

/** A google.protobuf.Duration or Timestamp bound, as in the option text. */
export interface SecondsNanos {
  seconds?: number | string;
  nanos?: number;
}

export interface DurationRules {
  required?: boolean;
  const?: SecondsNanos;
  lt?: SecondsNanos;
  lte?: SecondsNanos;
  gt?: SecondsNanos;
  gte?: SecondsNanos;
  in?: SecondsNanos[];
  not_in?: SecondsNanos[];
}

export interface TimestampRules {
  required?: boolean;
  const?: SecondsNanos;
  lt?: SecondsNanos;
  lte?: SecondsNanos;
  gt?: SecondsNanos;
  gte?: SecondsNanos;
  lt_now?: boolean;
  gt_now?: boolean;
  within?: SecondsNanos;
}

/** validate.FieldRules: the message rule plus at most one type rule. */
export interface FieldRules {
  message?: MessageRules;
  float?: NumericRules;
  double?: NumericRules;
  int32?: NumericRules;
  int64?: NumericRules;
  uint32?: NumericRules;
  uint64?: NumericRules;
  sint32?: NumericRules;
  sint64?: NumericRules;
  fixed32?: NumericRules;
  fixed64?: NumericRules;
  sfixed32?: NumericRules;
  sfixed64?: NumericRules;
  bool?: { const?: boolean };
  string?: StringRules;
  bytes?: BytesRules;
  enum?: EnumRules;
  repeated?: RepeatedRules;
  map?: MapRules;
  any?: AnyRules;
  duration?: DurationRules;
  timestamp?: TimestampRules;
}
