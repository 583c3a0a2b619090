// 64-bit hashing for consistent-hash load balancing (ring hash, Maglev) and hash policies.
// Envoy uses xxHash64; any well-mixed 64-bit hash gives the same guarantees (stickiness,
// minimal disruption). We use FNV-1a 64 with a final avalanche, on BigInt-free 32-bit halves.

/** Returns a 53-bit non-negative integer hash of a string (safe as a JS number). */
export function hashString(s: string, seed = 0): number {
  let h1 = 0x811c9dc5 ^ seed;
  let h2 = 0x01000193 ^ (seed * 31);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  h1 = fmix(h1 ^ s.length);
  h2 = fmix(h2 ^ h1);
  return (h2 >>> 0) * 0x200000 + (h1 >>> 11);
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Folds a further hash policy's value into the running hash (order-sensitive). */
export function combineHash(a: number, b: number): number {
  return (a * 33 + b) % 0x20000000000000;
}
