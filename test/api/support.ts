// Helpers for schema tests: validate an object and read back its problems as `field: message`.
import { formatProblem, type Place } from '../../src/api/place.js';
import { validateObject } from '../../src/api/validate.js';

/** The problems of one object as `field: message` lines (empty when it is admitted). */
export function problems(obj: unknown, place: Place = {}): string[] {
  const v = validateObject(obj, place);
  return v.ok ? [] : v.problems.map((p) => `${p.place.field ?? ''}: ${p.message}`);
}

/** Formatted problems, with file and resource, for messages in assertions. */
export function formatted(obj: unknown, place: Place = {}): string[] {
  const v = validateObject(obj, place);
  return v.ok ? [] : v.problems.map(formatProblem);
}

/** Deep-merges `patch` into a copy of `base` (arrays are replaced). */
export function merge<T>(base: T, patch: unknown): T {
  if (patch === undefined) return structuredClone(base);
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch) || typeof base !== 'object' || base === null) return structuredClone(patch) as T;
  const out = structuredClone(base) as Record<string, unknown>;
  for (const [k, v] of Object.entries(patch)) out[k] = v === undefined ? undefined : merge(out[k], v);
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as T;
}

export const gatewayAPI = 'gateway.networking.k8s.io/v1';
