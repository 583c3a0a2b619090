// Redaction for display, the way Envoy's admin /config_dump does it: every field that Envoy's protos
// mark `(udpa.annotations.sensitive)` (private keys, generic secrets, htpasswd users, API key
// credentials, ext_authz context extensions, ...) loses its data, wherever it sits: in nested
// messages, lists, maps, and inside `Any` and `TypedStruct` (filter typed configs, typed per-filter
// configs), which are resolved by their type URL.
//
// Inside a sensitive field everything is redacted, at any depth: strings become "[redacted]",
// bytes the bytes of that text (base64 "W3JlZGFjdGVkXQ=="), other scalars are cleared (dropped, or
// their default as a map value); a map keeps its keys. So a private key
// `{inlineBytes: <key>}` shows as `{inlineBytes: "W3JlZGFjdGVkXQ=="}`, as in Envoy's dumps.
//
// Most of a large configuration cannot hold sensitive data, so the walk only enters fields whose
// type can reach a sensitive field or an Any; that is worked out once per message type. Nothing is
// copied that is not changed: the result shares every untouched part with the input.
import { type FieldType, type MessageType, messageName, registry } from './registry.js';

export const REDACTED = '[redacted]';
/** "[redacted]" in a bytes field, as the JSON mapping writes bytes. */
export const REDACTED_BYTES = Buffer.from(REDACTED).toString('base64');

type JsonObject = Record<string, unknown>;

/**
 * A message in the proto3 JSON mapping (a type URL or a message name, and its JSON) with its
 * sensitive data redacted. Returns the input itself when there is nothing to redact, otherwise a
 * copy that shares the parts without sensitive data; the input is never changed. JSON of an
 * unknown type is returned as it is.
 */
export function redactSensitive(typeUrlOrName: string, json: unknown): unknown {
  const type = registry().findMessage(messageName(typeUrlOrName));
  return type ? redactMessage(type, json) : json;
}

const TYPED_STRUCTS = new Set(['xds.type.v3.TypedStruct', 'udpa.type.v1.TypedStruct']);

/** Any and TypedStruct carry a message of any type: what they hold is only known from the data. */
function isOpaque(type: MessageType): boolean {
  return type.wellKnown === 'Any' || TYPED_STRUCTS.has(type.fullName);
}

// ---- what a type can hold, worked out once per type ------------------------------------------

const mayHold = new WeakMap<MessageType, boolean>();

/**
 * Whether a message of this type can hold sensitive data: it has a sensitive field or is opaque,
 * or a message field's type can. Message types form cycles (matchers, Struct/Value), so this is
 * Tarjan's strongly connected components over the types reachable through message fields: the
 * types of one cycle share their answer, settled when the cycle's root completes.
 */
function mayHoldSensitive(root: MessageType): boolean {
  const known = mayHold.get(root);
  if (known !== undefined) return known;
  let next = 0;
  const index = new Map<MessageType, number>();
  const low = new Map<MessageType, number>();
  const flag = new Map<MessageType, boolean>();
  const stack: MessageType[] = [];
  const onStack = new Set<MessageType>();
  const visit = (t: MessageType): void => {
    index.set(t, next);
    low.set(t, next);
    next++;
    stack.push(t);
    onStack.add(t);
    let holds = isOpaque(t);
    for (const f of t.fields) {
      if (f.schema.sensitive) holds = true;
      if (f.kind !== 'message') continue;
      const u = f.message;
      const settled = mayHold.get(u);
      if (settled !== undefined) {
        holds ||= settled;
      } else if (!index.has(u)) {
        visit(u);
        low.set(t, Math.min(low.get(t)!, low.get(u)!));
        holds ||= mayHold.get(u) ?? flag.get(u)!;
      } else if (onStack.has(u)) {
        low.set(t, Math.min(low.get(t)!, index.get(u)!));
      }
    }
    flag.set(t, holds);
    if (low.get(t) !== index.get(t)) return;
    // t is the root of a component: its members are t and those above it on the stack.
    const members: MessageType[] = [];
    let any = false;
    for (;;) {
      const m = stack.pop()!;
      onStack.delete(m);
      members.push(m);
      any ||= flag.get(m)!;
      if (m === t) break;
    }
    for (const m of members) mayHold.set(m, any);
  };
  visit(root);
  return mayHold.get(root)!;
}

/** The fields of a type worth entering, by JSON and proto name; null when there are none. */
const plans = new WeakMap<MessageType, Map<string, FieldType> | null>();

function planOf(type: MessageType): Map<string, FieldType> | null {
  let plan = plans.get(type);
  if (plan !== undefined) return plan;
  plan = null;
  if (mayHoldSensitive(type)) {
    for (const f of type.fields) {
      if (!f.schema.sensitive && !(f.kind === 'message' && mayHoldSensitive(f.message))) continue;
      plan ??= new Map();
      plan.set(f.jsonName, f);
      plan.set(f.name, f);
    }
  }
  plans.set(type, plan);
  return plan;
}

// ---- outside sensitive data: enter only what can hold some --------------------------------------

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function redactMessage(type: MessageType, json: unknown): unknown {
  if (!isObject(json)) return json;
  if (type.wellKnown === 'Any') return redactAny(json, false);
  if (TYPED_STRUCTS.has(type.fullName)) return redactTypedStruct(json, false);
  const plan = planOf(type);
  if (!plan) return json;
  let out: JsonObject | undefined;
  const keys = Object.keys(json);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const f = plan.get(key);
    if (f === undefined) continue;
    const v = json[key];
    const r = f.schema.sensitive ? redactField(f, v) : enterField(f, v);
    if (r === v) continue;
    out ??= { ...json };
    if (r === undefined) delete out[key];
    else out[key] = r;
  }
  return out ?? json;
}

/** A message field that is not sensitive itself but whose type can hold sensitive data. */
function enterField(f: FieldType, v: unknown): unknown {
  if (f.isMap) {
    if (!isObject(v)) return v;
    let out: JsonObject | undefined;
    for (const k in v) {
      const r = redactMessage(f.message, v[k]);
      if (r !== v[k]) (out ??= { ...v })[k] = r;
    }
    return out ?? v;
  }
  if (f.repeated) {
    if (!Array.isArray(v)) return v;
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const r = redactMessage(f.message, v[i]);
      if (r !== v[i]) (out ??= v.slice())[i] = r;
    }
    return out ?? v;
  }
  return redactMessage(f.message, v);
}

// ---- inside sensitive data: redact everything -------------------------------------------------

/** The redacted value of a field inside sensitive data; undefined: the field is cleared. */
function redactField(f: FieldType, v: unknown): unknown {
  if (v === null || v === undefined) return v;
  if (f.isMap) {
    if (!isObject(v)) return undefined;
    const out: JsonObject = {};
    for (const k in v) out[k] = f.kind === 'message' ? redactAll(f.message, v[k]) : redactedScalar(f) ?? defaultScalar(f);
    return out;
  }
  if (f.repeated) {
    if (!Array.isArray(v)) return undefined;
    if (f.kind === 'message') return v.map((e) => redactAll(f.message, e));
    // Strings and bytes keep their places; other scalars are cleared.
    return f.scalar === 'string' || f.scalar === 'bytes' ? v.map(() => redactedScalar(f)) : undefined;
  }
  if (f.kind === 'message') return redactAll(f.message, v);
  // An empty string without explicit presence is unset, and stays so.
  if (v === '' && !f.presence) return v;
  return redactedScalar(f);
}

/** "[redacted]" for a string or bytes value; undefined (cleared) for any other scalar. */
function redactedScalar(f: FieldType): string | undefined {
  if (f.scalar === 'string') return REDACTED;
  if (f.scalar === 'bytes') return REDACTED_BYTES;
  return undefined;
}

/** The default of a scalar in the JSON mapping (a cleared map value still shows its key). */
function defaultScalar(f: FieldType): unknown {
  switch (f.scalar) {
    case 'bool': return false;
    case 'int64': case 'uint64': case 'sint64': case 'fixed64': case 'sfixed64': return '0';
    case 'enum': return f.enumType.byNumber.get(0) ?? 0;
    default: return 0;
  }
}

/** A whole message inside sensitive data, in its JSON form (special for the well-known types). */
function redactAll(type: MessageType, json: unknown): unknown {
  if (json === null || json === undefined) return json;
  switch (type.wellKnown) {
    case 'Any': return isObject(json) ? redactAny(json, true) : json;
    case 'Duration': return '0s';
    case 'Timestamp': return '1970-01-01T00:00:00Z';
    case 'FieldMask': return typeof json === 'string' && json !== '' ? json.split(',').map(() => REDACTED).join(',') : json;
    case 'Struct': return redactStruct(json);
    case 'Value': return redactValue(json);
    case 'ListValue': return Array.isArray(json) ? json.map(redactValue) : null;
    case 'StringValue': return json === '' ? json : REDACTED;
    case 'BytesValue': return json === '' ? json : REDACTED_BYTES;
    case 'BoolValue': return false;
    case 'Int64Value': case 'UInt64Value': return '0';
    case 'DoubleValue': case 'FloatValue': case 'Int32Value': case 'UInt32Value': return 0;
    default: break;
  }
  if (TYPED_STRUCTS.has(type.fullName) && isObject(json)) return redactTypedStruct(json, true);
  if (!isObject(json)) return json;
  const out: JsonObject = {};
  for (const key in json) {
    if (key === '@type') {
      out[key] = json[key];
      continue;
    }
    // A key that is no field of the type cannot be told apart from a secret: it is left out.
    const f = type.byKey.get(key);
    if (!f) continue;
    const r = redactField(f, json[key]);
    if (r !== undefined) out[key] = r;
  }
  return out;
}

/** Struct and Value inside sensitive data: strings are redacted, numbers and booleans cleared. */
function redactStruct(json: unknown): unknown {
  if (!isObject(json)) return null;
  const out: JsonObject = {};
  for (const k in json) out[k] = redactValue(json[k]);
  return out;
}

function redactValue(v: unknown): unknown {
  if (typeof v === 'string') return REDACTED;
  if (Array.isArray(v)) return v.map(redactValue);
  if (isObject(v)) return redactStruct(v);
  // A cleared number or boolean leaves a Value without a kind, which the JSON mapping shows as null.
  return null;
}

// ---- opaque messages: resolved by type URL --------------------------------------------------

/**
 * An Any holds its message's fields next to "@type" (or, for a well-known type, its special form
 * under "value"). Of an unknown type nothing can be said: outside sensitive data it is left as it
 * is, inside only its type URL is kept.
 */
function redactAny(json: JsonObject, sensitive: boolean): unknown {
  const url = json['@type'];
  const inner = typeof url === 'string' ? registry().findMessage(messageName(url)) : undefined;
  if (!inner) return sensitive ? (typeof url === 'string' ? { '@type': url } : {}) : json;
  if (inner.wellKnown) {
    if (!('value' in json)) return json;
    const v = json['value'];
    const r = sensitive ? redactAll(inner, v) : redactMessage(inner, v);
    return r === v ? json : { ...json, value: r };
  }
  return sensitive ? redactAll(inner, json) : redactMessage(inner, json);
}

/**
 * A TypedStruct holds its message as a Struct whose JSON is that message's JSON; it is redacted as
 * that message. Of an unknown type it is an ordinary message (type URL and Struct).
 */
function redactTypedStruct(json: JsonObject, sensitive: boolean): unknown {
  const urlKey = 'typeUrl' in json ? 'typeUrl' : 'type_url';
  const url = json[urlKey];
  const inner = typeof url === 'string' ? registry().findMessage(messageName(url)) : undefined;
  if (!inner || inner.wellKnown) {
    if (!sensitive) return json;
    const out: JsonObject = {};
    if (typeof url === 'string') out[urlKey] = REDACTED;
    if ('value' in json) out['value'] = redactStruct(json['value']);
    return out;
  }
  if (!('value' in json)) return json;
  const v = json['value'];
  const r = sensitive ? redactAll(inner, v) : redactMessage(inner, v);
  return r === v ? json : { ...json, value: r };
}
