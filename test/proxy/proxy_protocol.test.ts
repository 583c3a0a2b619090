// PROXY protocol header parsing (HAProxy's spec, v1 text and v2 binary), as the listener filter
// reads it from the first bytes of a connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProxyHeader } from '../../src/proxy/tcp/proxy_protocol.js';
import { encodeProxyHeader as encode } from '../../src/proxy/upstream/proxy_protocol.js';

/** A PROXY protocol header for these addresses (LOCAL / UNKNOWN without). */
function encodeProxyHeader(version: 1 | 2, a: { remoteAddress: string; remotePort: number; localAddress: string; localPort: number } | undefined): Buffer {
  return encode(version, a ? { srcAddress: a.remoteAddress, srcPort: a.remotePort, dstAddress: a.localAddress, dstPort: a.localPort } : { srcAddress: '', srcPort: 0, dstAddress: '', dstPort: 0 });
}

test('v1: TCP4, TCP6 and UNKNOWN headers; partial input asks for more', () => {
  const v4 = Buffer.from('PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /');
  assert.deepEqual(parseProxyHeader(v4), { kind: 'header', length: 45, version: 1, addresses: { remoteAddress: '192.0.2.1', remotePort: 56324, localAddress: '198.51.100.2', localPort: 443 } });
  const v6 = parseProxyHeader(Buffer.from('PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n'));
  assert.equal(v6.kind === 'header' && v6.addresses?.remoteAddress, '2001:db8::1');
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), { kind: 'header', length: 15, version: 1, addresses: undefined });
  assert.equal(parseProxyHeader(Buffer.from('PROXY TCP4 192.0.2.1')).kind, 'need-more');
  assert.equal(parseProxyHeader(Buffer.from('PRO')).kind, 'need-more');
  assert.equal(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')).kind, 'none');
});

test('v1: malformed headers are refused', () => {
  for (const bad of ['PROXY TCP4 192.0.2.300 198.51.100.2 1 2\r\n', 'PROXY TCP4 192.0.2.1 198.51.100.2 70000 2\r\n', 'PROXY TCP4 a b\r\n', 'PROXY UDP4 1.1.1.1 2.2.2.2 1 2\r\n', `PROXY TCP4 ${'1'.repeat(120)}`]) {
    assert.equal(parseProxyHeader(Buffer.from(bad)).kind, 'invalid', bad);
  }
});

test('v2: IPv4 and IPv6 PROXY, LOCAL, TLVs skipped, partial input', () => {
  const a = { remoteAddress: '203.0.113.7', remotePort: 4242, localAddress: '198.51.100.1', localPort: 80 };
  const h4 = encodeProxyHeader(2, a);
  assert.deepEqual(parseProxyHeader(Buffer.concat([h4, Buffer.from('rest')])), { kind: 'header', length: h4.length, version: 2, addresses: a });
  const b = { remoteAddress: '2001:db8::7', remotePort: 1, localAddress: '::1', localPort: 2 };
  const h6 = encodeProxyHeader(2, b);
  assert.deepEqual(parseProxyHeader(h6), { kind: 'header', length: 52, version: 2, addresses: b });
  assert.deepEqual(parseProxyHeader(encodeProxyHeader(2, undefined)), { kind: 'header', length: 16, version: 2, addresses: undefined });
  // A TLV after the addresses is part of the header.
  const withTlv = Buffer.concat([h4, Buffer.from([0x04, 0x00, 0x01, 0x00])]);
  withTlv.writeUInt16BE(12 + 4, 14);
  const r = parseProxyHeader(withTlv);
  assert.equal(r.kind === 'header' && r.length, withTlv.length);
  assert.equal(parseProxyHeader(h4.subarray(0, 20)).kind, 'need-more');
  const badVersion = Buffer.from(h4);
  badVersion[12] = 0x11;
  assert.equal(parseProxyHeader(badVersion).kind, 'invalid');
});
