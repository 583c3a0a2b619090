// Envoy's tls_inspector listener filter: reads the TLS ClientHello from the first bytes of a
// connection (without consuming them) to learn whether it is TLS, the SNI and the ALPN list, so
// that a filter chain can be chosen before any handshake (termination or passthrough).

export type Inspection =
  | { kind: 'need-more' }
  | { kind: 'not-tls' }
  | { kind: 'tls'; serverName: string; alpn: string[] };

const MAX_HELLO = 64 * 1024;

export function inspectClientHello(b: Buffer): Inspection {
  if (b.length < 1) return { kind: 'need-more' };
  if (b[0] !== 0x16) return { kind: 'not-tls' }; // handshake record
  if (b.length < 5) return { kind: 'need-more' };
  if (b[1] !== 0x03) return { kind: 'not-tls' };
  // The ClientHello may span several records; gather the handshake bytes.
  const hs: Buffer[] = [];
  let off = 0;
  let total = 0;
  let needed = -1;
  while (off + 5 <= b.length) {
    if (b[off] !== 0x16) return total ? parsed(Buffer.concat(hs)) : { kind: 'not-tls' };
    const len = b.readUInt16BE(off + 3);
    if (off + 5 + len > b.length) {
      hs.push(b.subarray(off + 5));
      total += b.length - off - 5;
      off = b.length;
      break;
    }
    hs.push(b.subarray(off + 5, off + 5 + len));
    total += len;
    off += 5 + len;
    if (needed < 0 && total >= 4) {
      const first = Buffer.concat(hs);
      if (first[0] !== 0x01) return { kind: 'not-tls' };
      needed = 4 + first.readUIntBE(1, 3);
    }
    if (needed >= 0 && total >= needed) break;
  }
  const data = Buffer.concat(hs);
  if (data.length >= 4) {
    if (data[0] !== 0x01) return { kind: 'not-tls' };
    needed = 4 + data.readUIntBE(1, 3);
    if (needed > MAX_HELLO) return { kind: 'tls', serverName: '', alpn: [] };
  }
  if (needed < 0 || data.length < needed) return b.length > MAX_HELLO ? { kind: 'tls', serverName: '', alpn: [] } : { kind: 'need-more' };
  return parsed(data);
}

function parsed(hs: Buffer): Inspection {
  try {
    return parseHello(hs);
  } catch {
    return { kind: 'tls', serverName: '', alpn: [] };
  }
}

function parseHello(h: Buffer): Inspection {
  let p = 4; // handshake header
  p += 2 + 32; // version, random
  p += 1 + h[p]!; // session id
  p += 2 + h.readUInt16BE(p); // cipher suites
  p += 1 + h[p]!; // compression methods
  let serverName = '';
  const alpn: string[] = [];
  if (p + 2 > h.length) return { kind: 'tls', serverName, alpn };
  const end = p + 2 + h.readUInt16BE(p);
  p += 2;
  while (p + 4 <= end) {
    const type = h.readUInt16BE(p);
    const len = h.readUInt16BE(p + 2);
    const ext = h.subarray(p + 4, p + 4 + len);
    p += 4 + len;
    if (type === 0 && ext.length >= 5) {
      // server_name: list of (type, name); host_name is type 0.
      let q = 2;
      while (q + 3 <= ext.length) {
        const t = ext[q]!;
        const l = ext.readUInt16BE(q + 1);
        if (t === 0) { serverName = ext.subarray(q + 3, q + 3 + l).toString('latin1').toLowerCase(); break; }
        q += 3 + l;
      }
    } else if (type === 16 && ext.length >= 2) {
      let q = 2;
      while (q < ext.length) {
        const l = ext[q]!;
        alpn.push(ext.subarray(q + 1, q + 1 + l).toString('latin1'));
        q += 1 + l;
      }
    }
  }
  return { kind: 'tls', serverName, alpn };
}
