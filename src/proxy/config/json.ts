// Readers for the proto3 JSON mapping of Envoy resources: every accessor takes the field path it
// reads so that a wrong value is reported where it is. Both lowerCamelCase and the original
// snake_case names are accepted, as the proto3 JSON parser does.
import { ConfigError } from './errors.js';

export type Json = { [key: string]: any };

const camelCache = new Map<string, string>();

/** The value of a field, by its lowerCamelCase name or its proto (snake_case) name. */
export function field(obj: Json, name: string): any {
  const v = obj[name];
  if (v !== undefined) return v;
  let snake = camelCache.get(name);
  if (snake === undefined) {
    snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    camelCache.set(name, snake);
  }
  return snake === name ? undefined : obj[snake];
}

export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

export function obj(parent: Json, name: string, path: string): Json | undefined {
  const v = field(parent, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(at(path, name), 'expected an object');
  return v;
}

export function list(parent: Json, name: string, path: string): any[] {
  const v = field(parent, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new ConfigError(at(path, name), 'expected a list');
  return v;
}

export function str(parent: Json, name: string, path: string, dflt = ''): string {
  const v = field(parent, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'string') throw new ConfigError(at(path, name), 'expected a string');
  return v;
}

export function bool(parent: Json, name: string, path: string, dflt = false): boolean {
  let v = field(parent, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'object' && 'value' in v) v = v.value; // BoolValue wrapper written as an object
  if (typeof v !== 'boolean') throw new ConfigError(at(path, name), 'expected a boolean');
  return v;
}

/** Integer fields, including 64-bit ones written as strings and wrapper types. */
export function num(parent: Json, name: string, path: string, dflt?: number): number | undefined {
  let v = field(parent, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'object' && 'value' in v) v = v.value;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) v = Number(v);
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(at(path, name), 'expected a number');
  return v;
}

export function numOr(parent: Json, name: string, path: string, dflt: number): number {
  return num(parent, name, path, dflt) as number;
}

/** Enum fields: by name, or by number mapped through `names` (index = enum number). */
export function enumOf<T extends string>(parent: Json, name: string, path: string, names: readonly T[], dflt: T): T {
  const v = field(parent, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number' && names[v] !== undefined) return names[v]!;
  if (typeof v === 'string' && (names as readonly string[]).includes(v)) return v as T;
  throw new ConfigError(at(path, name), `unknown value ${JSON.stringify(v)} (expected one of ${names.join(', ')})`);
}

/**
 * A google.protobuf.Duration in the JSON mapping ("1.5s", "0.000001s"), as milliseconds.
 * Also accepts the object form {seconds, nanos} that some writers produce.
 */
export function durationMs(parent: Json, name: string, path: string): number | undefined {
  const v = field(parent, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(v);
    if (!m) throw new ConfigError(at(path, name), `invalid duration ${JSON.stringify(v)}`);
    const ms = Number(m[2]) * 1000 + (m[3] ? Number(m[3].padEnd(9, '0')) / 1e6 : 0);
    return m[1] ? -ms : ms;
  }
  if (typeof v === 'object' && ('seconds' in v || 'nanos' in v)) return Number(v.seconds ?? 0) * 1000 + Number(v.nanos ?? 0) / 1e6;
  throw new ConfigError(at(path, name), 'expected a duration such as "1.5s"');
}

/** bytes fields are base64 in the JSON mapping. */
export function bytes(parent: Json, name: string, path: string): Buffer | undefined {
  const v = field(parent, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ConfigError(at(path, name), 'expected base64 bytes');
  return Buffer.from(v, 'base64');
}

/** The "@type" of an Any, without its type.googleapis.com/ prefix. */
export function anyType(any: Json, path: string): string {
  const t = any['@type'];
  if (typeof t !== 'string') throw new ConfigError(at(path, '@type'), 'missing @type');
  const slash = t.lastIndexOf('/');
  return slash >= 0 ? t.slice(slash + 1) : t;
}

/** A core.v3.DataSource (filename, inlineBytes, inlineString, environmentVariable) read now. */
export function dataSource(parent: Json, name: string, path: string, readFile: (p: string) => Buffer): Buffer | undefined {
  const ds = obj(parent, name, path);
  if (!ds) return undefined;
  const p = at(path, name);
  const inlineBytes = bytes(ds, 'inlineBytes', p);
  if (inlineBytes) return inlineBytes;
  const inlineString = field(ds, 'inlineString');
  if (typeof inlineString === 'string') return Buffer.from(inlineString);
  const filename = field(ds, 'filename');
  if (typeof filename === 'string') {
    try {
      return readFile(filename);
    } catch (err) {
      throw new ConfigError(at(p, 'filename'), `cannot read ${filename}: ${(err as Error).message}`);
    }
  }
  const env = field(ds, 'environmentVariable');
  if (typeof env === 'string') {
    const v = process.env[env];
    if (v === undefined) throw new ConfigError(at(p, 'environmentVariable'), `environment variable ${env} is not set`);
    return Buffer.from(v);
  }
  return Buffer.alloc(0);
}

/** A FractionalPercent / RuntimeFractionalPercent default as a probability in [0, 1]. */
export function fraction(fp: Json | undefined, path: string): number {
  if (!fp) return 1;
  const def = field(fp, 'defaultValue') ?? fp;
  const numerator = numOr(def, 'numerator', path, 0);
  const denom = enumOf(def, 'denominator', path, ['HUNDRED', 'TEN_THOUSAND', 'MILLION'] as const, 'HUNDRED');
  const d = denom === 'HUNDRED' ? 100 : denom === 'TEN_THOUSAND' ? 10000 : 1000000;
  return Math.min(1, numerator / d);
}
