// The proxy's own requests to clusters (JWKS, token endpoints, auth services): answers come back
// buffered, 5xx answers and resets are retried as a core RetryPolicy says, a silent server times
// out, and an unknown cluster is a failure value.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, test } from 'node:test';
import { callCluster, compileCallRetry } from '../../../src/proxy/http/async_client.js';
import { Cluster } from '../../../src/proxy/upstream/cluster.js';
import { compileCluster } from '../../../src/proxy/upstream/cluster_config.js';
import { defaultPoolFactory } from '../../../src/proxy/upstream/pools.js';
import { listen, staticCluster } from './harness.js';

const closers: (() => void)[] = [];
after(() => { for (const c of closers) c(); });

async function server(handler: http.RequestListener): Promise<number> {
  const s = await listen(http.createServer(handler));
  closers.push(s.close);
  return s.port;
}

function clusters(name: string, port: number) {
  const c = new Cluster(compileCluster(staticCluster(name, [port]), () => Buffer.alloc(0)), { get: () => undefined }, defaultPoolFactory);
  closers.push(() => c.close());
  return { get: (n: string) => (n === name ? c : undefined) };
}

test('a call to a cluster returns the buffered answer', async () => {
  const port = await server((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { res.setHeader('x-host', req.headers.host ?? ''); res.end(`${req.method} ${req.url} ${body}`); });
  });
  const r = await callCluster(clusters('c', port), 'c', { method: 'POST', path: '/p?q=1', authority: 'auth.example', headers: ['content-type', 'text/plain'], body: Buffer.from('hi'), timeoutMs: 2000 }).result;
  assert.ok(r.ok);
  assert.equal(r.response.status, 200);
  assert.equal(r.response.body.toString(), 'POST /p?q=1 hi');
  assert.ok(r.response.headers.includes('auth.example'));
});

test('5xx answers are retried per the retry policy, then the last answer is returned', async () => {
  let hits = 0;
  const port = await server((_req, res) => { hits++; res.statusCode = hits < 3 ? 503 : 200; res.end(String(hits)); });
  const retry = compileCallRetry({ numRetries: 2, retryOn: '5xx', retryBackOff: { baseInterval: '0.01s' } }, 'retryPolicy');
  const r = await callCluster(clusters('c', port), 'c', { method: 'GET', path: '/', authority: 'a', headers: [], timeoutMs: 5000, retry }).result;
  assert.ok(r.ok);
  assert.equal(r.response.status, 200);
  assert.equal(hits, 3);
  hits = -10;
  const once = compileCallRetry({ numRetries: 1, retryOn: '5xx', retryBackOff: { baseInterval: '0.01s' } }, 'retryPolicy');
  const r2 = await callCluster(clusters('c', port), 'c', { method: 'GET', path: '/', authority: 'a', headers: [], timeoutMs: 5000, retry: once }).result;
  assert.ok(r2.ok);
  assert.equal(r2.response.status, 503);
  assert.equal(hits, -8);
});

test('a server that does not answer times out; an unknown cluster fails at once', async () => {
  const port = await server(() => { /* never answers */ });
  const t0 = Date.now();
  const r = await callCluster(clusters('c', port), 'c', { method: 'GET', path: '/', authority: 'a', headers: [], timeoutMs: 200 }).result;
  assert.deepEqual([r.ok, !r.ok && r.failure], [false, 'timeout']);
  assert.ok(Date.now() - t0 < 1500);
  const n = await callCluster(clusters('c', port), 'other', { method: 'GET', path: '/', authority: 'a', headers: [], timeoutMs: 200 }).result;
  assert.deepEqual([n.ok, !n.ok && n.failure], [false, 'cluster-not-found']);
  assert.throws(() => compileCallRetry({ retryOn: 'sometimes' }, 'retryPolicy'), /retryPolicy.retryOn: unknown retry condition|unknown retry condition/);
});
