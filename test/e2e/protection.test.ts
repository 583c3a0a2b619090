// Protection against abusive clients: a slow-loris client is cut off by the request headers
// timeout, an oversized header block and too many headers are refused (431), and other clients
// are served normally meanwhile.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { cluster, endpoints, forward, httpListener, route, routeConfig } from './xds.js';
import { request, sleep, startEcho, startProxy, type Echo, type ProxyProc } from './support.js';

function rawExchange(port: number, send: (s: net.Socket) => void, timeoutMs = 5000): Promise<{ data: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const start = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('error', () => {});
    s.on('close', () => resolve({ data, closedAfterMs: Date.now() - start }));
    const t = setTimeout(() => { s.destroy(); }, timeoutMs);
    t.unref();
    send(s);
  });
}

describe('protection against slow and oversized requests', () => {
  let echo: Echo, proxy: ProxyProc, port: number;

  before(async () => {
    echo = await startEcho('protected');
    proxy = await startProxy({
      listeners: [httpListener('http', 'routes', { hcm: { requestHeadersTimeout: '1s', maxRequestHeadersKb: 16, commonHttpProtocolOptions: { headersWithUnderscoresAction: 'REJECT_REQUEST', maxHeadersCount: 50 } } })],
      routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [route('r', { prefix: '/' }, forward('c'))] }])],
      clusters: [cluster('c')],
      endpoints: [endpoints('c', [{ host: '127.0.0.1', port: echo.http }])],
    });
    port = proxy.ports.http!;
  });

  after(async () => { await Promise.all([proxy, echo].map((p) => p?.close())); });

  test('a slow-loris client is cut off while others are served', async () => {
    let stop = false;
    const loris = rawExchange(port, (s) => {
      const head = 'GET / HTTP/1.1\r\nHost: slow\r\nX-Slow: ';
      let i = 0;
      const tick = () => {
        if (stop || s.destroyed) return;
        s.write(head[i % head.length]!);
        i++;
        setTimeout(tick, 100);
      };
      tick();
    }, 8000);
    // Meanwhile, normal traffic flows.
    for (let i = 0; i < 10; i++) {
      assert.equal((await request(port, { path: `/ok/${i}` })).status, 200);
      await sleep(50);
    }
    const r = await loris;
    stop = true;
    assert.ok(r.closedAfterMs >= 900 && r.closedAfterMs < 3000, `closed after ${r.closedAfterMs} ms`);
    assert.match(r.data, /^HTTP\/1\.1 408/);
  });

  test('an oversized header block is refused with 431 and the connection closed', async () => {
    const big = 'x'.repeat(32 * 1024);
    const r = await rawExchange(port, (s) => s.write(`GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${big}\r\n\r\n`));
    assert.match(r.data, /^HTTP\/1\.1 431/);
    assert.equal((await request(port, { path: '/after' })).status, 200);
  });

  test('too many headers are refused with 431', async () => {
    const headers: Record<string, string> = {};
    for (let i = 0; i < 60; i++) headers[`x-h${i}`] = 'v';
    assert.equal((await request(port, { path: '/', headers })).status, 431);
  });

  test('request smuggling: conflicting framing is rejected by the strict parser', async () => {
    const r = await rawExchange(port, (s) => s.write('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'));
    assert.match(r.data, /^HTTP\/1\.1 400/);
    assert.doesNotMatch(r.data, /smuggled/);
  });
});
