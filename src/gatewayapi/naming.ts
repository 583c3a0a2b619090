// Names derived from other names, as Envoy Gateway derives them (proxy resources per Gateway).
import { createHash } from 'node:crypto';

/**
 * `<s with "/" as "-", cut to n characters>-<first 8 hex digits of sha256(s)>`: a name that stays
 * unique and within Kubernetes length limits.
 */
export function hashedName(s: string, n: number): string {
  const hash = createHash('sha256').update(s).digest('hex').slice(0, 8);
  let r = s.replaceAll('/', '-');
  if (r.length > n) {
    r = r.slice(0, n);
    if (r.endsWith('-')) r = r.slice(0, -1);
  }
  return `${r}-${hash}`;
}
