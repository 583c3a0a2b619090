// Copies of IR values. The IR is plain data (objects, arrays, strings, numbers, booleans,
// undefined), so a copy walks it directly: several times faster than structuredClone, which
// serialises through the structured-clone format. Anything else (a Map, a Date) is handed to
// structuredClone. Unlike structuredClone, a value referenced twice is copied twice.
export function cloneIR<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneIR(value[i]);
    return out as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return structuredClone(value);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = cloneIR((value as Record<string, unknown>)[key]);
  return out as T;
}
