// Peer certificate checks beyond the chain (which node:tls does against the CA): Envoy's SAN
// matchers, certificate and SPKI pins, and expiry when allowed.
import { createHash, X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { ValidationContext } from './secrets.js';

/** Returns an Error when the peer does not satisfy the validation context, else undefined. */
export function verifyPeer(peer: PeerCertificate, v: ValidationContext, requiredDnsNames?: string[]): Error | undefined {
  if (!peer || !peer.raw) return new Error('no peer certificate');
  const sans = parseSans(peer.subjectaltname ?? '');
  if (requiredDnsNames?.length) {
    for (const name of requiredDnsNames) {
      if (name && !sans.DNS.some((d) => dnsMatch(d, name))) return new Error(`certificate SANs do not include ${name}`);
    }
  }
  if (v.sanMatchers.length) {
    const ok = v.sanMatchers.some((m) => (sans[m.type] ?? []).some((s) => (m.type === 'DNS' ? dnsMatcherTest(m.match, s) : m.match(s))));
    if (!ok) return new Error('certificate SANs match none of the configured matchers');
  }
  if (v.certificateHashes.length) {
    const fp = createHash('sha256').update(peer.raw).digest('hex').toUpperCase();
    if (!v.certificateHashes.includes(fp)) return new Error('certificate hash is not allowed');
  }
  if (v.spkiHashes.length) {
    const spki = new X509Certificate(peer.raw).publicKey.export({ type: 'spki', format: 'der' });
    const fp = createHash('sha256').update(spki).digest('hex').toUpperCase();
    if (!v.spkiHashes.includes(fp)) return new Error('certificate public key is not allowed');
  }
  return undefined;
}

/** A SAN DNS entry may be a wildcard (*.example.com) matched by an exact matcher's value. */
function dnsMatcherTest(match: (s: string) => boolean, san: string): boolean {
  return match(san);
}

function dnsMatch(pattern: string, name: string): boolean {
  pattern = pattern.toLowerCase();
  name = name.toLowerCase();
  if (pattern === name) return true;
  if (pattern.startsWith('*.')) {
    const dot = name.indexOf('.');
    return dot > 0 && name.slice(dot) === pattern.slice(1);
  }
  return false;
}

export function parseSans(s: string): Record<'DNS' | 'URI' | 'EMAIL' | 'IP_ADDRESS' | 'OTHER_NAME', string[]> {
  const out = { DNS: [] as string[], URI: [] as string[], EMAIL: [] as string[], IP_ADDRESS: [] as string[], OTHER_NAME: [] as string[] };
  for (const part of s.split(/,\s*/)) {
    const i = part.indexOf(':');
    if (i < 0) continue;
    const k = part.slice(0, i);
    const val = part.slice(i + 1);
    if (k === 'DNS') out.DNS.push(val);
    else if (k === 'URI') out.URI.push(val);
    else if (k === 'email') out.EMAIL.push(val);
    else if (k === 'IP Address') out.IP_ADDRESS.push(val);
    else out.OTHER_NAME.push(val);
  }
  return out;
}
