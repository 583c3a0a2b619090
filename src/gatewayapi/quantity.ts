// Kubernetes quantities ("20Mi", "128Ki", "1G", "512", "500m", "1e3") as numbers, for the byte
// sizes and window sizes policies give that way.

/**
 * The value of a quantity. It may come out fractional ("500m" is 0.5): callers that need a whole
 * number check for it.
 */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === 'number') return q;
  if (typeof q !== 'string') return undefined;
  const m = /^([+-]?\d+(?:\.\d*)?|[+-]?\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.exec(q.trim());
  if (!m) return undefined;
  const mult: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
  const suffix = m[2];
  const scale = !suffix ? 1 : suffix[0] === 'e' || suffix[0] === 'E' ? 10 ** Number(suffix.slice(1)) : mult[suffix]!;
  const v = Number(m[1]) * scale;
  // Binary and decimal multiples of whole numbers stay exact; round away float noise.
  return Math.abs(v - Math.round(v)) < 1e-9 ? Math.round(v) : v;
}

/** A quantity that must be a whole number (Go's Quantity.AsInt64). */
export function wholeQuantity(q: unknown): number | undefined {
  const n = parseQuantity(q);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

export const maxUint32 = 4294967295;
