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

/** Fields holding Kubernetes quantities, which Go writes back in canonical form. */
const quantityFields = new Set([
  'bufferLimit', 'socketBufferLimit', 'initialStreamWindowSize', 'initialConnectionWindowSize', 'minContentLength', 'maxRequestHeaderLimit',
]);

function isQuantity(key: string, parentKey: string | undefined): boolean {
  return quantityFields.has(key) || (key === 'limit' && parentKey === 'requestBuffer') || (key === 'value' && parentKey === 'limit');
}

const binary = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const decimal: Record<number, string> = { 3: 'k', 6: 'M', 9: 'G', 12: 'T', 15: 'P', 18: 'E' };

/**
 * A quantity in Kubernetes' canonical form: "1000G" is "1T", 1000 is "1k", "2048Ki" is "2Mi",
 * "0.5" is "500m". Anything unreadable is left as it is.
 */
export function canonicalQuantity(q: unknown): unknown {
  if (typeof q !== 'number' && typeof q !== 'string') return q;
  const m = /^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$/.exec(String(q).trim());
  if (!m) return q;
  const suffix = m[2] ?? '';
  const bi = binary.indexOf(suffix);
  const mult = bi >= 0 ? 1024 ** (bi + 1) : suffix === 'm' ? 1e-3 : suffix ? 10 ** Number(Object.keys(decimal).find((k) => decimal[Number(k)] === suffix)) : 1;
  let v = Number(m[1]) * mult;
  if (Math.abs(v - Math.round(v)) < 1e-9) v = Math.round(v);
  if (!Number.isSafeInteger(Math.abs(Math.round(v)))) return q;
  if (bi >= 0 && Number.isInteger(v) && Math.abs(v) >= 1024) {
    for (let k = 6; k >= 1; k--) if (v % 1024 ** k === 0) return `${v / 1024 ** k}${binary[k - 1]}`;
  }
  if (Number.isInteger(v)) {
    for (let e = 18; e >= 3; e -= 3) if (v !== 0 && v % 10 ** e === 0) return `${v / 10 ** e}${decimal[e]}`;
    return String(v);
  }
  const milli = Math.round(v * 1000);
  return Math.abs(v * 1000 - milli) < 1e-6 ? `${milli}m` : q;
}

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
      if (isQuantity(key, parentKey) && (typeof val === 'number' || typeof val === 'string')) {
        o[key] = canonicalQuantity(val);
      } else if ((stringFields.has(key) || (isMatch && key === 'value')) && (typeof val === 'number' || typeof val === 'boolean')) {
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
