// Scalar values of the proto3 JSON mapping: what the parser accepts (numbers or numeric strings,
// "NaN"/"Infinity", base64 in either alphabet, enum names or numbers) and what the printer writes
// (64-bit integers as strings, floats in their shortest form, standard base64). Durations and
// Timestamps live here too, as the strings "1.5s" and "1972-01-01T10:00:20.021Z".
import { ProtoError, show } from './errors.js';
import type { ScalarType } from './schema.js';

const INT_RE = /^-?\d+$/;
const NUMBER_RE = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const MAX_FLOAT = 3.4028234663852886e38;

function integral(value: unknown, what: string): number | string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new ProtoError(`expected ${what}, got ${show(value)}`);
    return value;
  }
  if (typeof value === 'string') {
    if (INT_RE.test(value)) return value;
    // "1e3" and "10.0" are accepted when they hold an integer.
    if (NUMBER_RE.test(value)) {
      const n = Number(value);
      if (Number.isInteger(n)) return n;
    }
  }
  throw new ProtoError(`expected ${what}, got ${show(value)}`);
}

export function parseInt32(value: unknown, unsigned: boolean): number {
  const v = integral(value, unsigned ? 'an unsigned 32-bit integer' : 'a 32-bit integer');
  const n = typeof v === 'number' ? v : Number(v);
  if (unsigned ? n < 0 || n > 0xffffffff : n < -0x80000000 || n > 0x7fffffff) {
    throw new ProtoError(`${show(value)} is out of range for ${unsigned ? 'uint32' : 'int32'}`);
  }
  return n;
}

/** A 64-bit integer as a safe JS number, or as a decimal string when it does not fit one. */
export function parseInt64(value: unknown, unsigned: boolean): number | string {
  const v = integral(value, unsigned ? 'an unsigned 64-bit integer' : 'a 64-bit integer');
  if (typeof v === 'number' && Number.isSafeInteger(v)) {
    if (unsigned && v < 0) throw new ProtoError(`${show(value)} is out of range for uint64`);
    return v;
  }
  const big = BigInt(typeof v === 'number' ? v.toFixed(0) : v);
  if (unsigned ? big < 0n || big > 0xffffffffffffffffn : big < -0x8000000000000000n || big > 0x7fffffffffffffffn) {
    throw new ProtoError(`${show(value)} is out of range for ${unsigned ? 'uint64' : 'int64'}`);
  }
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big.toString();
}

export function parseFloating(value: unknown, single: boolean): number {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (value === 'NaN') return NaN;
  else if (value === 'Infinity') return Infinity;
  else if (value === '-Infinity') return -Infinity;
  else if (typeof value === 'string' && NUMBER_RE.test(value)) n = Number(value);
  else throw new ProtoError(`expected a number, got ${show(value)}`);
  if (!Number.isFinite(n) || (single && Math.abs(n) > MAX_FLOAT)) throw new ProtoError(`${show(value)} is out of range for ${single ? 'float' : 'double'}`);
  return n;
}

const BASE64_RE = /^[A-Za-z0-9+/\-_]*={0,2}$/;

export function parseBytes(value: unknown): Uint8Array {
  if (typeof value !== 'string' || !BASE64_RE.test(value)) throw new ProtoError(`expected base64 bytes, got ${show(value)}`);
  return Buffer.from(value, 'base64');
}

/** A parsed scalar, ready for the writer: numbers, decimal strings for big 64-bit values, booleans, strings, bytes. */
export type ScalarValue = number | string | boolean | Uint8Array;

export function parseScalar(type: ScalarType, value: unknown): ScalarValue {
  switch (type) {
    case 'int32': case 'sint32': case 'sfixed32': return parseInt32(value, false);
    case 'uint32': case 'fixed32': return parseInt32(value, true);
    case 'int64': case 'sint64': case 'sfixed64': return parseInt64(value, false);
    case 'uint64': case 'fixed64': return parseInt64(value, true);
    case 'double': return parseFloating(value, false);
    case 'float': return parseFloating(value, true);
    case 'bool':
      if (typeof value !== 'boolean') throw new ProtoError(`expected true or false, got ${show(value)}`);
      return value;
    case 'string':
      if (typeof value !== 'string') throw new ProtoError(`expected a string, got ${show(value)}`);
      return value;
    case 'bytes': return parseBytes(value);
  }
}

/** Map keys are JSON strings; parse them as their key type, keeping the canonical string form. */
export function parseMapKey(type: ScalarType, key: string): ScalarValue {
  if (type === 'string') return key;
  if (type === 'bool') {
    if (key === 'true') return true;
    if (key === 'false') return false;
    throw new ProtoError(`map key ${show(key)} is not a bool`);
  }
  if (!INT_RE.test(key)) throw new ProtoError(`map key ${show(key)} is not an integer`);
  return parseScalar(type, key);
}

export function isDefaultScalar(value: ScalarValue): boolean {
  return value === 0 || value === false || value === '' || value === '0' || (value instanceof Uint8Array && value.length === 0) || Object.is(value, -0);
}

/** The shortest decimal that reads back as the same 32-bit float (what protobuf printers write). */
export function formatFloat(value: number): number | string {
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  for (let precision = 1; precision < 17; precision++) {
    const candidate = Number(value.toPrecision(precision));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}

export function formatDouble(value: number): number | string {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

// ---- Duration and Timestamp ----

const MAX_DURATION_SECONDS = 315576000000;
const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

export interface SecondsNanos {
  seconds: number;
  nanos: number;
}

function fractionToNanos(fraction: string | undefined): number {
  return fraction ? Number(fraction.padEnd(9, '0')) : 0;
}

export function parseDuration(value: unknown): SecondsNanos {
  const m = typeof value === 'string' ? DURATION_RE.exec(value) : null;
  if (!m) throw new ProtoError(`expected a duration like "1.5s", got ${show(value)}`);
  const sign = m[1] ? -1 : 1;
  const seconds = Number(m[2]);
  if (seconds > MAX_DURATION_SECONDS) throw new ProtoError(`duration ${show(value)} is out of range`);
  return { seconds: sign * seconds || 0, nanos: sign * fractionToNanos(m[3]) || 0 };
}

/** Fractional digits in groups of 3, as the JSON mapping prints them. */
function nanosText(nanos: number): string {
  if (nanos === 0) return '';
  let s = String(nanos).padStart(9, '0');
  if (s.endsWith('000000')) s = s.slice(0, 3);
  else if (s.endsWith('000')) s = s.slice(0, 6);
  return `.${s}`;
}

export function formatDuration(seconds: number, nanos: number): string {
  if (Math.abs(seconds) > MAX_DURATION_SECONDS || Math.abs(nanos) > 999999999 || (seconds !== 0 && nanos !== 0 && seconds < 0 !== nanos < 0)) {
    throw new ProtoError(`invalid duration ${seconds}s ${nanos}ns`);
  }
  const negative = seconds < 0 || nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${nanosText(Math.abs(nanos))}s`;
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
const MIN_TIMESTAMP = -62135596800; // 0001-01-01T00:00:00Z
const MAX_TIMESTAMP = 253402300799; // 9999-12-31T23:59:59Z

export function parseTimestamp(value: unknown): SecondsNanos {
  const m = typeof value === 'string' ? TIMESTAMP_RE.exec(value) : null;
  if (!m) throw new ProtoError(`expected an RFC 3339 timestamp, got ${show(value)}`);
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new ProtoError(`invalid timestamp ${show(value)}`);
  }
  let seconds = Math.floor(date.getTime() / 1000);
  if (m[9]) seconds -= (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11]) * 60);
  if (seconds < MIN_TIMESTAMP || seconds > MAX_TIMESTAMP) throw new ProtoError(`timestamp ${show(value)} is out of range`);
  return { seconds, nanos: fractionToNanos(m[7]) };
}

export function formatTimestamp(seconds: number, nanos: number): string {
  if (seconds < MIN_TIMESTAMP || seconds > MAX_TIMESTAMP || nanos < 0 || nanos > 999999999) {
    throw new ProtoError(`invalid timestamp ${seconds}s ${nanos}ns`);
  }
  const date = new Date(seconds * 1000);
  const year = date.getUTCFullYear();
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ for years 0000-9999
  return `${String(year).padStart(4, '0')}${iso.slice(iso.indexOf('-', 1), 19)}${nanosText(nanos)}Z`;
}

// ---- FieldMask ----

export function parseFieldMask(value: unknown): string[] {
  if (typeof value !== 'string') throw new ProtoError(`expected a field mask string, got ${show(value)}`);
  if (value === '') return [];
  return value.split(',').map((path) => {
    if (path.includes('_')) throw new ProtoError(`field mask path ${show(path)} must be lowerCamelCase`);
    return path.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  });
}

export function formatFieldMask(paths: string[]): string {
  return paths
    .map((p) => {
      if (/_[^a-z]|_$|[A-Z]/.test(p)) throw new ProtoError(`field mask path ${show(p)} has no lowerCamelCase form`);
      return p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    })
    .join(',');
}

