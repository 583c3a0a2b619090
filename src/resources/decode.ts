// Decoding as Kubernetes' Go API types do it: JSON field names match case-insensitively (so
// `SignatureAlgorithms:` is `signatureAlgorithms`, by the kind's schema), and a YAML scalar
// written as a number where the API has a string (a numeric sectionName, a header value) is
// that string.
import { withGoFieldNames } from '../api/fieldnames.js';
import type { AnyObject } from './resources.js';

/** Fields whose values are maps with user-chosen keys: their keys are data, not field names. */
const mapFields = new Set([
  'labels',
  'annotations',
  'matchLabels',
  'data',
  'binaryData',
  'stringData',
  'nodeSelector',
  'json',
  'customTags',
  'tags',
  'resourceAttributes',
  'resources',
  'requests',
  'limits',
  'env',
  'parameters',
  'metadata',
]);

/** String-typed fields that YAML authors often write as bare numbers. */
const stringFields = new Set(['sectionName', 'hostname']);

function decodeValue(v: unknown, parentKey: string | undefined): unknown {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = decodeValue(v[i], parentKey);
    return v;
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const isMatch = typeof o.name === 'string' && 'value' in o;
    for (const key of Object.keys(o)) {
      const val = o[key];
      if ((stringFields.has(key) || (isMatch && key === 'value')) && (typeof val === 'number' || typeof val === 'boolean')) {
        o[key] = String(val);
      } else if (!mapFields.has(key)) {
        o[key] = decodeValue(val, key);
      }
    }
  }
  return v;
}

/** A resource as Envoy Gateway reads it: declared field names, string fields as strings. */
export function decodeResource<T extends AnyObject>(input: T): T {
  if (!input || typeof input !== 'object') return input;
  const o = withGoFieldNames(input);
  for (const k of Object.keys(o)) {
    if (k === 'metadata' || k === 'data' || k === 'binaryData' || k === 'stringData' || k === 'status') continue;
    (o as Record<string, unknown>)[k] = decodeValue(o[k], k);
  }
  return o;
}
