// bandwidth_limit through a real proxy: request and response bodies paced at the route's limit
// (the listener's filter disabled, as Envoy Gateway installs it), the bucket shared by the route's
// streams, delay trailers with the configured prefix, routes without a config untouched, and
// configs Envoy would refuse refused.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { listen, problemsOf, startProxy, typed, type Running } from '../auth/harness.js';

const BL = 'envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit';
const filter = { name: 'envoy.filters.http.bandwidth_limit', disabled: true, typedConfig: typed(BL, { statPrefix: 'bw' }) };
const perRoute = (body: object) => ({ 'envoy.filters.http.bandwidth_limit': typed(BL, { statPrefix: 'bw', ...body }) });

/** A backend that reads the request and answers with `size` bytes, chunked (so trailers can follow). */
async function bigBackend(size: number) {
  const server = http.createServer((req, res) => {
    let got = 0;
    req.on('data', (c: Buffer) => { got += c.length; });
    req.on('end', () => {
      res.writeHead(200, { 'x-got': String(got) });
      res.write(Buffer.alloc(size / 2, 'a'));
      res.end(Buffer.alloc(size / 2, 'b'));
    });
  });
  return listen(server);
}

function call(port: number, path: string, body?: Buffer): Promise<{ status: number; ms: number; size: number; got?: string; trailers: NodeJS.Dict<string> }> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', agent: false, headers: { host: 'x', te: 'trailers' } }, (res) => {
      let size = 0;
      res.on('data', (c: Buffer) => { size += c.length; });
      res.on('end', () => resolve({ status: res.statusCode!, ms: Date.now() - t0, size, got: res.headers['x-got'] as string | undefined, trailers: res.trailers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('bandwidth_limit', () => {
  let backend: { port: number; close(): void }, p: Running;
  before(async () => {
    backend = await bigBackend(40 * 1024);
    p = await startProxy({
      filters: [filter],
      clusters: [],
      routes: [
        { name: 'up', prefix: '/up', perFilter: perRoute({ enableMode: 'REQUEST', limitKbps: '40' }) },
        { name: 'down', prefix: '/down', perFilter: perRoute({ enableMode: 'RESPONSE', limitKbps: '80', enableResponseTrailers: true, responseTrailerPrefix: 'x-eg' }) },
        { name: 'free', prefix: '/' },
      ],
    }, { port: backend.port, seen: [], close: () => backend.close() });
  });
  after(async () => { await p.close(); backend.close(); });

  test('request bodies are paced at the route limit', async () => {
    const r = await call(p.port, '/up', Buffer.alloc(20 * 1024, 'x'));
    assert.equal(r.status, 200);
    assert.equal(r.got, String(20 * 1024));
    // 20 KiB at 40 KiB/s in 2 KiB slices every 50 ms: about half a second.
    assert.ok(r.ms >= 400, `took ${r.ms} ms`);
  });

  test('response bodies are paced, and the delays are reported as trailers', async () => {
    const r = await call(p.port, '/down');
    assert.equal(r.size, 40 * 1024);
    assert.ok(r.ms >= 400, `took ${r.ms} ms`);
    assert.ok(Number(r.trailers['x-eg-bandwidth-response-filter-delay-ms']) > 0, JSON.stringify(r.trailers));
    assert.ok(Number(r.trailers['x-eg-bandwidth-response-delay-ms']) >= Number(r.trailers['x-eg-bandwidth-response-filter-delay-ms']));
    assert.equal(r.trailers['x-eg-bandwidth-request-delay-ms'], undefined, 'the request side is not limited on this route');
  });

  test('the streams of a route share its bucket', async () => {
    // Two responses of 40 KiB at once under 80 KiB/s: the second second has no banked bytes left.
    const t0 = Date.now();
    await Promise.all([call(p.port, '/down'), call(p.port, '/down'), call(p.port, '/down')]);
    assert.ok(Date.now() - t0 >= 500, `three parallel responses took ${Date.now() - t0} ms`);
  });

  test('a route without a config is not limited', async () => {
    const r = await call(p.port, '/free', Buffer.alloc(20 * 1024, 'x'));
    assert.equal(r.size, 40 * 1024);
    assert.ok(r.ms < 300, `took ${r.ms} ms`);
    assert.deepEqual(r.trailers, {});
  });

  test('refused: a per-route config without a limit, a fill interval out of range', async () => {
    const base = { filters: [filter], routes: [{ name: 'r', prefix: '/', perFilter: perRoute({ enableMode: 'REQUEST' }) }] };
    assert.match((await problemsOf(base)).join('\n'), /limitKbps: a per-route bandwidth limit needs limitKbps/);
    const fill = { filters: [filter], routes: [{ name: 'r', prefix: '/', perFilter: perRoute({ enableMode: 'REQUEST', limitKbps: '1', fillInterval: '0.005s' }) }] };
    assert.match((await problemsOf(fill)).join('\n'), /fillInterval: must be between 20ms and 1s/);
  });
});
