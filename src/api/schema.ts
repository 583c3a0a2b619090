// Building blocks for the API schemas: strict objects (unknown fields are reported, as a
// structural schema would prune-and-warn them), bounded integers and lists, and `rule`, the
// form every CRD cross-field (CEL) rule takes here. A field the CRD defaults carries its default
// (`.default(v)` for a scalar, `.prefault(v)` for a mapping or list, so that the defaults nested
// in it apply too, as the API server's defaulting does); admission (validate.ts) adds the
// defaults of absent fields to the object and leaves everything else as written.
import { isIP as netIsIP } from 'node:net';
import { z } from 'zod';

export { z };

/** Reports a broken rule at a path relative to the object the rule is attached to. */
export type Fail = (message: string, ...path: PropertyKey[]) => void;

/**
 * A cross-field rule (what the CRDs express in CEL), attached with `.superRefine(rule(...))`.
 * It only runs once the object's own fields have the right types, so it may rely on them.
 */
export function rule<T>(check: (value: T, fail: Fail) => void): (value: T, ctx: z.RefinementCtx<T>) => void {
  return (value, ctx) => {
    check(value, (message, ...path) => ctx.addIssue({ code: 'custom', message, path }));
  };
}

/** A signed 32-bit integer with optional bounds. */
export function int32(min = -2147483648, max = 2147483647) {
  return z.number().int().min(min).max(max);
}

/** A 64-bit integer (JSON numbers beyond 2^53 lose precision, as they do in the API server's JSON). */
export function int64(min?: number, max?: number) {
  let s = z.number().int();
  if (min !== undefined) s = s.min(min);
  if (max !== undefined) s = s.max(max);
  return s;
}

/** A list with bounds on its length. */
export function list<T extends z.ZodType>(item: T, max?: number, min = 0) {
  let s = z.array(item);
  if (min > 0) s = s.min(min);
  if (max !== undefined) s = s.max(max);
  return s;
}

/** A map of strings to `value`, with a bound on its size (CRD `maxProperties`). */
export function stringMap<T extends z.ZodType>(value: T, maxProperties?: number, key: z.ZodType<string> = z.string()) {
  const m = z.record(key, value);
  if (maxProperties === undefined) return m;
  return m.superRefine(
    rule<Record<string, unknown>>((v, fail) => {
      if (Object.keys(v).length > maxProperties) fail(`must have at most ${maxProperties} entries`);
    }),
  );
}

/** A string with length bounds and an optional pattern (the pattern is named in the message). */
export function str(opts: { min?: number; max?: number; pattern?: RegExp; what?: string } = {}) {
  let s = z.string();
  // A string of the wrong length is reported once, not again for its pattern.
  if (opts.min !== undefined) s = s.min(opts.min, { abort: true });
  if (opts.max !== undefined) s = s.max(opts.max, { abort: true });
  if (opts.pattern) s = s.regex(opts.pattern, `must be ${opts.what ?? `a string matching ${opts.pattern.source}`}`);
  return s;
}

/** Every value of `key(item)` must appear once (a CRD list-map key, or a CEL uniqueness rule). */
export function unique<T>(
  items: readonly T[] | undefined,
  key: (item: T) => string | undefined,
  fail: Fail,
  message: (k: string) => string,
  field?: PropertyKey,
): void {
  if (!items || items.length < 2) return;
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    const k = key(items[i]!);
    if (k === undefined) continue;
    if (seen.has(k)) fail(message(k), ...(field === undefined ? [i] : [i, field]));
    else seen.add(k);
  }
}

/** IPv4 dotted quad or IPv6 text form without a zone (CEL `isIP`). */
export function isIP(s: string): boolean {
  return !s.includes('%') && netIsIP(s) !== 0;
}

/** An address in CIDR notation: IP, '/', prefix length within the family's width. */
export function isCIDR(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || !isIP(ip)) return false;
  return Number(len) <= (ip.includes(':') ? 128 : 32);
}
