// Go-style field names. Envoy Gateway reads YAML through Go's encoding/json, which matches a
// field name written in another case (`Name`, `backendref`) to the declared one (`name`,
// `backendRef`) when no exact match exists. The API server does not: it reports such fields
// as unknown. Admission (validate.ts) therefore keeps names as written; this module gives
// consumers that must read objects the way Envoy Gateway's own tests do (the golden corpus)
// the same objects with each field under its declared name.
import type { z } from 'zod';
import type { KubernetesObject } from './meta.js';
import { lookupKind } from './registry.js';

type Def = { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[]; in?: z.ZodType };

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Strips wrappers (optional, default, nullable, pipes) down to the schema that shapes data. */
function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const d = defOf(s);
    if (d.innerType && (d.type === 'optional' || d.type === 'default' || d.type === 'nullable' || d.type === 'prefault' || d.type === 'readonly' || d.type === 'catch')) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** Declared field names of an object schema, by lowercase spelling. */
const foldedNames = new WeakMap<object, Map<string, string>>();
function declaredNames(shape: Record<string, z.ZodType>): Map<string, string> {
  let m = foldedNames.get(shape);
  if (!m) {
    m = new Map();
    for (const k of Object.keys(shape)) if (!m.has(k.toLowerCase())) m.set(k.toLowerCase(), k);
    foldedNames.set(shape, m);
  }
  return m;
}

/**
 * `value` with every field that the schema declares in another case renamed to the declared
 * spelling. Values without such fields come back unchanged (same object, no copy).
 */
export function withDeclaredFieldNames<T>(value: T, schema: z.ZodType): T {
  return rename(value, schema) as T;
}

function rename(value: unknown, schema: z.ZodType): unknown {
  if (value === null || typeof value !== 'object') return value;
  const s = unwrap(schema);
  const d = defOf(s);
  if (Array.isArray(value)) {
    if (d.type !== 'array' || !d.element) return value;
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const r = rename(item, d.element!);
      if (r !== item) (out ??= value.slice())[i] = r;
    });
    return out ?? value;
  }
  const obj = value as Record<string, unknown>;
  if (d.type === 'record' && d.valueType) {
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(obj)) {
      const r = rename(v, d.valueType);
      if (r !== v) (out ??= { ...obj })[k] = r;
    }
    return out ?? value;
  }
  if (d.type === 'union' && d.options) {
    // The first object-shaped alternative decides the names (unions here are of scalars and one shape).
    const shaped = d.options.find((o) => defOf(unwrap(o)).type === 'object');
    return shaped ? rename(value, shaped) : value;
  }
  if (d.type !== 'object' || !d.shape) return value;
  const shape = d.shape;
  const names = declaredNames(shape);
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(obj)) {
    let key = k;
    if (!(k in shape)) {
      const declared = names.get(k.toLowerCase());
      // An exact spelling, when present too, wins (as in Go).
      if (declared && !(declared in obj)) key = declared;
    }
    const fieldSchema = shape[key];
    const r = fieldSchema ? rename(v, fieldSchema) : v;
    if (key !== k || r !== v) {
      out ??= { ...obj };
      if (key !== k) delete out[k];
      out[key] = r;
    }
  }
  return out ?? value;
}

/** Declared field names for a whole object, its schema found from apiVersion and kind. */
export function withGoFieldNames<T>(obj: T): T {
  const o = obj as Partial<KubernetesObject> | null;
  if (!o || typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return obj;
  const found = lookupKind(o.apiVersion, o.kind);
  return found.ok ? withDeclaredFieldNames(obj, found.info.schema) : obj;
}
