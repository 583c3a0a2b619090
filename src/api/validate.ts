// Admission: checks one object the way the API server would (its kind is known and served, its
// fields have the declared types, formats and bounds, no unknown fields, the CRD's cross-field
// rules hold) and reports each problem with its place. One bad object never affects another.
// An admitted object comes back as the API server would store it: null fields pruned and the
// CRDs' structural defaults filled in; nothing else rewritten.
import type { z } from 'zod';
import type { KubernetesObject } from './meta.js';
import { fieldPath, type Place, type Problem } from './place.js';
import { lookupKind } from './registry.js';

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** Finds the line of a field path in the source, when the object came from a file. */
export type Locate = (path: readonly PropertyKey[]) => number | undefined;

/** `Kind namespace/name`, or as much of it as the object has. */
export function describeResource(obj: unknown): string | undefined {
  if (!isMapping(obj)) return undefined;
  const kind = typeof obj.kind === 'string' ? obj.kind : undefined;
  const md = isMapping(obj.metadata) ? obj.metadata : undefined;
  const name = typeof md?.name === 'string' ? md.name : undefined;
  const ns = typeof md?.namespace === 'string' ? md.namespace : undefined;
  const id = name ? (ns ? `${ns}/${name}` : name) : undefined;
  if (!kind && !id) return undefined;
  return [kind ?? 'object', id].filter(Boolean).join(' ');
}

/**
 * Validates one Kubernetes object. On success the value is the object as stored: fields that
 * are `null` dropped, each absent field that the schema defaults set to its default (defaults
 * nested in a default included), every other field as written (same values, same order) and
 * `metadata` untouched. The object is copied only along the paths that changed; an object that
 * needs no default comes back as itself. `locate` maps a field path to its line in the source
 * file, when known.
 */
export function validateObject(obj: unknown, place: Place = {}, locate?: Locate): Validation<KubernetesObject> {
  const resource = describeResource(obj) ?? place.resource;
  const at = (field: string | undefined, message: string, path: readonly PropertyKey[] = []): Problem => {
    const p: Place = { ...place };
    if (resource) p.resource = resource;
    if (field) p.field = field;
    const line = locate?.(path);
    if (line !== undefined) p.line = line;
    return { message, place: p };
  };
  if (!isMapping(obj)) return { ok: false, problems: [at(undefined, `expected a Kubernetes object (a mapping), found ${describeValue(obj)}`)] };
  if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) return { ok: false, problems: [at('apiVersion', 'apiVersion is required', ['apiVersion'])] };
  if (typeof obj.kind !== 'string' || !obj.kind) return { ok: false, problems: [at('kind', 'kind is required', ['kind'])] };
  const found = lookupKind(obj.apiVersion, obj.kind);
  if (!found.ok) {
    const field = found.reason === 'unknown-kind' ? 'kind' : 'apiVersion';
    return { ok: false, problems: [at(field, found.message, [field])] };
  }
  const input = withoutNulls(obj);
  const result = found.info.schema.safeParse(input);
  if (!result.success) {
    const problems: Problem[] = [];
    for (const issue of result.error.issues) {
      for (const { path, message } of explainIssue(issue, input)) problems.push(at(fieldPath(path), message, path));
    }
    return { ok: false, problems };
  }
  const stored = withDefaults(input, result.data) as Record<string, unknown>;
  // Defaulting never reaches metadata; it is kept exactly as written (nulls included).
  if (stored !== obj && stored.metadata !== obj.metadata) stored.metadata = obj.metadata;
  return { ok: true, value: stored as unknown as KubernetesObject };
}

/**
 * `written` with the fields that only `parsed` has (the defaults the schema filled in) added,
 * at every depth. Fields present in `written` keep their value and their order; lists keep their
 * items. Defaults are copied, so no two admitted objects share a default's objects.
 */
export function withDefaults<T>(written: T, parsed: unknown): T {
  if (written === undefined) return (parsed === undefined ? written : copyData(parsed)) as T;
  if (Array.isArray(written)) {
    if (!Array.isArray(parsed) || parsed.length !== written.length) return written;
    let out: unknown[] | undefined;
    for (let i = 0; i < written.length; i++) {
      const item = withDefaults(written[i], parsed[i]);
      if (item !== written[i]) (out ??= written.slice())[i] = item;
    }
    return (out ?? written) as T;
  }
  if (!isPlainMapping(written) || !isPlainMapping(parsed)) return written;
  let out: Record<string, unknown> | undefined;
  for (const k of Object.keys(written)) {
    const v = withDefaults(written[k], parsed[k]);
    if (v !== written[k]) setField((out ??= { ...written }), k, v);
  }
  for (const k of Object.keys(parsed)) {
    if (parsed[k] === undefined || Object.hasOwn(written, k)) continue;
    setField((out ??= { ...written }), k, copyData(parsed[k]));
  }
  return (out ?? written) as T;
}

function isPlainMapping(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** An own data field, even for a key such as `__proto__`. */
function setField(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A deep copy of plain data (a default value: mappings, lists, scalars). */
function copyData(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyData);
  if (!isPlainMapping(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) setField(out, k, copyData(v[k]));
  return out;
}

/** Turns a zod issue into messages in our own words, one per unknown field. */
export function explainIssue(issue: z.core.$ZodIssue, input: unknown): { path: PropertyKey[]; message: string }[] {
  const path = issue.path as PropertyKey[];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({ path: [...path, k], message: 'unknown field' }));
    case 'invalid_type': {
      const value = valueAt(input, path);
      if (value === undefined) return [{ path, message: 'required field is missing' }];
      return [{ path, message: `must be ${article(issue.expected)}, found ${describeValue(value)}` }];
    }
    case 'invalid_value':
      if (issue.values.length === 1) return [{ path, message: `must be ${JSON.stringify(issue.values[0])}` }];
      return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}; found ${describeValue(valueAt(input, path))}` }];
    case 'too_small':
    case 'too_big': {
      const limit = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      const exclusive = issue.inclusive === false;
      switch (issue.origin) {
        case 'string':
          return [{ path, message: `must be ${word} ${limit} character${Number(limit) === 1 ? '' : 's'} long` }];
        case 'array':
          return [{ path, message: `must have ${word} ${limit} item${Number(limit) === 1 ? '' : 's'}` }];
        default: {
          const op = issue.code === 'too_small' ? (exclusive ? '>' : '>=') : exclusive ? '<' : '<=';
          return [{ path, message: `must be ${op} ${limit}; found ${describeValue(valueAt(input, path))}` }];
        }
      }
    }
    case 'invalid_format':
      return [{ path, message: issue.message && !issue.message.startsWith('Invalid') ? issue.message : `must be a valid ${issue.format}` }];
    case 'invalid_union':
      return [{ path, message: 'matches none of the allowed forms' }];
    case 'invalid_key': {
      // The path ends with the key itself; explain what the key should look like.
      const inner = issue.issues.flatMap((i) => explainIssue(i, path[path.length - 1]));
      return inner.length ? inner.map((i) => ({ path, message: `key ${i.message}` })) : [{ path, message: 'invalid key' }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

function article(t: string): string {
  const word = t === 'int' ? 'integer' : t === 'object' ? 'mapping' : t === 'array' ? 'list' : t;
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return `${typeof v} ${String(v)}`;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The API server drops `null` fields of structural schemas before validating; so do we. The
 * object is copied only along paths that hold a null; otherwise the same object comes back.
 */
export function withoutNulls<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      const cleaned = withoutNulls(item);
      if (cleaned !== item && !out) out = v.slice(0, i);
      if (out) out.push(cleaned);
    }
    return (out ?? v) as T;
  }
  let out: Record<string, unknown> | undefined;
  const src = v as Record<string, unknown>;
  for (const k in src) {
    const item = src[k];
    if (item === null) {
      out ??= { ...src };
      delete out[k];
      continue;
    }
    const cleaned = withoutNulls(item);
    if (cleaned !== item) {
      out ??= { ...src };
      out[k] = cleaned;
    }
  }
  return (out ?? v) as T;
}
