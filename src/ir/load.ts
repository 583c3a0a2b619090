// Reading an IR written by hand or by Envoy Gateway's tests (YAML or JSON) into the IR's canonical
// JSON form. Envoy Gateway decodes its IR with Go's encoding/json, which matches keys
// case-insensitively and reads []byte from either base64 or a list of byte values; the corpus relies
// on both (`SNI`, `backoff`, `certificate: [99, 101, ...]`). We normalise once, at the edge, so that
// everything downstream sees one spelling.
import { parse } from 'yaml';
import { irFieldNames } from './fields.js';
import { isSecretField } from './redact.js';
import type { Xds } from './xds.js';

/** Lua has no JSON tags in Envoy Gateway: its keys are the Go field names. */
const luaKeys: Record<string, string> = { name: 'Name', code: 'Code', filtercontext: 'FilterContext' };

const canonical = new Map<string, string>();
for (const n of irFieldNames) {
  if (luaKeys[n.toLowerCase()] === n) continue;
  const lower = n.toLowerCase();
  if (!canonical.has(lower)) canonical.set(lower, n);
}
const known = new Set(irFieldNames.filter((n) => luaKeys[n.toLowerCase()] !== n));

/** Values that are free-form maps or foreign documents: their keys are kept as written. */
const opaque = new Set(['config', 'FilterContext', 'labels', 'spec', 'status', 'backendSettings']);

/**
 * []byte fields: a list of byte values becomes base64. So do the secret fields (redact.ts), whose
 * rendering "[redacted]" reads back as the bytes of that text, as Envoy Gateway reads its IR.
 */
const bytesFields = new Set(['certificate', 'privateKey', 'ocspStaple', 'data', 'body', 'users', 'credential', 'clientSecret', 'hmacSecret']);

function isBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

function canonicalKey(key: string, parent: string | undefined): string {
  if (parent === 'luas') return luaKeys[key.toLowerCase()] ?? key;
  if (known.has(key)) return key;
  return canonical.get(key.toLowerCase()) ?? key;
}

/** `path`: the keys from the root to `v`, `[]` for list elements (kept for the secret fields). */
function normalise(v: unknown, path: string[]): unknown {
  if (Array.isArray(v)) {
    path.push('[]');
    const out = v.map((x) => normalise(x, path));
    path.pop();
    return out;
  }
  if (v === null || typeof v !== 'object') return v;
  const parent = path.findLast((k) => k !== '[]');
  const out: Record<string, unknown> = {};
  const exact = new Set<string>();
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    const key = canonicalKey(k, parent);
    // A key spelled exactly as the field wins over a differently-cased duplicate (as Envoy
    // Gateway's reading of its test inputs does).
    if (key === k) exact.add(key);
    else if (exact.has(key)) continue;
    const bytes = bytesFields.has(key) || isSecretField(key, path);
    if (bytes && Array.isArray(x) && x.every((b) => typeof b === 'number')) {
      out[key] = Buffer.from(x as number[]).toString('base64');
    } else if (bytes && typeof x === 'string' && !isBase64(x)) {
      // Text where bytes are expected (e.g. "[redacted]"): the bytes of the text.
      out[key] = Buffer.from(x).toString('base64');
    } else if (opaque.has(key) || (key === 'value' && parent === 'operation') || ((key === 'annotations' || key === 'attributes') && !Array.isArray(x))) {
      out[key] = x;
    } else {
      path.push(key);
      out[key] = normalise(x, path);
      path.pop();
    }
  }
  return out;
}

/** Normalises a decoded IR document (any key case, byte lists) to the canonical IR form. */
export function normaliseIR<T = Xds>(doc: unknown): T {
  return normalise(doc, []) as T;
}

/** Parses an xDS IR from YAML or JSON text. Throws on syntax errors (the caller has the place). */
export function parseXdsIR(text: string): Xds {
  return normaliseIR<Xds>(parse(text) ?? {});
}
