// HTTP/1.1 header case preservation (the preserve_case header formatter on the listener and the
// cluster): names reach the backend, and the client, spelled as they were sent.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { cluster, endpoints, forward, httpListener, route, routeConfig } from './xds.js';
import { startProxy, type ProxyProc } from './support.js';

const PRESERVE = { statefulFormatter: { name: 'preserve_case', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.http.header_formatters.preserve_case.v3.PreserveCaseFormatterConfig' } } };
let backend: net.Server, proxy: ProxyProc, lastHead = '';

before(async () => {
  // A raw backend: remembers the request head as written and answers with a mixed-case header.
  backend = net.createServer((s) => s.on('data', (d) => {
    lastHead = d.toString('latin1').split('\r\n\r\n')[0]!;
    s.write('HTTP/1.1 200 OK\r\nX-Upstream-Case: Yes\r\nContent-Length: 2\r\n\r\nok');
  }));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const port = (backend.address() as net.AddressInfo).port;
  proxy = await startProxy({
    listeners: [httpListener('http', 'routes', { hcm: { httpProtocolOptions: { headerKeyFormat: PRESERVE } } })],
    routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [route('r', { prefix: '/' }, forward('raw'))] }])],
    clusters: [cluster('raw', { typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicitHttpConfig: { httpProtocolOptions: { headerKeyFormat: PRESERVE } } } } })],
    endpoints: [endpoints('raw', [{ host: '127.0.0.1', port }])],
  });
});

after(async () => { await proxy?.close(); backend?.close(); });

test('header names keep their case on both legs', async () => {
  const response = await new Promise<string>((resolve) => {
    const s = net.connect(proxy.ports.http!, '127.0.0.1');
    let out = '';
    s.on('data', (d) => { out += d; if (out.includes('\r\n\r\nok')) { s.destroy(); resolve(out); } });
    s.write('GET / HTTP/1.1\r\nHost: a\r\nX-Mixed-Case: v\r\nACCEPT: */*\r\n\r\n');
  });
  assert.match(lastHead, /\r\nX-Mixed-Case: v\r\n/);
  assert.match(lastHead, /\r\nACCEPT: \*\/\*\r\n/);
  assert.match(response, /\r\nX-Upstream-Case: Yes\r\n/);
});
