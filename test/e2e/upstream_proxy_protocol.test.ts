// The upstream PROXY protocol transport: each upstream connection starts with a PROXY header
// carrying the client's address, and connections are not shared between clients.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { encodeProxyHeader } from '../../src/proxy/upstream/proxy_protocol.js';
import { cluster, endpoints, forward, httpListener, route, routeConfig } from './xds.js';
import { startProxy, type ProxyProc } from './support.js';

let backend: net.Server, proxy: ProxyProc;
const headers: string[] = [];

before(async () => {
  backend = net.createServer((s) => {
    let buf = '';
    let pp: string | undefined;
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (pp === undefined) {
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        pp = buf.slice(0, i);
        headers.push(pp);
        buf = buf.slice(i + 2);
      }
      while (buf.includes('\r\n\r\n')) {
        buf = buf.slice(buf.indexOf('\r\n\r\n') + 4);
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${pp.length}\r\n\r\n${pp}`);
      }
    });
  });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const port = (backend.address() as net.AddressInfo).port;
  proxy = await startProxy({
    listeners: [httpListener('http', 'routes')],
    routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [route('r', { prefix: '/' }, forward('pp'))] }])],
    clusters: [cluster('pp', { transportSocket: { name: 'envoy.transport_sockets.upstream_proxy_protocol', typedConfig: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport',
      config: { version: 'V1' }, transportSocket: { name: 'envoy.transport_sockets.raw_buffer', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } } } } })],
    endpoints: [endpoints('pp', [{ host: '127.0.0.1', port }])],
  });
});

after(async () => { await proxy?.close(); backend?.close(); });

function get(localPort?: number): Promise<{ body: string; port: number }> {
  return new Promise((resolve) => {
    const s = net.connect({ port: proxy.ports.http!, host: '127.0.0.1', localPort });
    let out = '';
    s.on('data', (d) => {
      out += d;
      const i = out.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(out)?.[1] ?? -1);
      if (i >= 0 && out.length - i - 4 === length) { const port = s.localPort!; s.destroy(); resolve({ body: out.slice(i + 4), port }); }
    });
    s.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
  });
}

test('upstream connections start with the client\'s PROXY header, one pool per client', async () => {
  const a = await get();
  assert.equal(a.body, `PROXY TCP4 127.0.0.1 127.0.0.1 ${a.port} ${proxy.ports.http}`);
  const b = await get();
  assert.equal(b.body, `PROXY TCP4 127.0.0.1 127.0.0.1 ${b.port} ${proxy.ports.http}`);
  assert.notEqual(a.port, b.port);
});

test('PROXY protocol v2 header layout', () => {
  const h = encodeProxyHeader(2, { srcAddress: '10.0.0.1', srcPort: 1234, dstAddress: '10.0.0.2', dstPort: 443 });
  assert.equal(h.subarray(0, 12).toString('hex'), '0d0a0d0a000d0a515549540a');
  assert.deepEqual([...h.subarray(12, 16)], [0x21, 0x11, 0, 12]);
  assert.deepEqual([...h.subarray(16, 24)], [10, 0, 0, 1, 10, 0, 0, 2]);
  assert.equal(h.readUInt16BE(24), 1234);
  assert.equal(h.readUInt16BE(26), 443);
});
