// Connection idle timeouts of HTTP/1.1 connections, downstream (HCM common_http_protocol_options)
// and upstream (the cluster's): a connection is closed after the timeout with no request in
// flight, and never while a request outlasts the timeout; the count starts again when the last
// request ends.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import { listen, startProxy, typed } from './auth/harness.js';

const IDLE = 300;
const idleOpts = { commonHttpProtocolOptions: { idleTimeout: `${IDLE / 1000}s` } };

/** A backend that answers after ?delay= milliseconds and records when its connections close. */
async function slowBackend() {
  const closedAt: number[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const delay = Number(new URL(req.url!, 'http://x').searchParams.get('delay') ?? 0);
    setTimeout(() => res.end('ok'), delay);
  });
  server.on('connection', (s: net.Socket) => { connections++; s.on('close', () => closedAt.push(Date.now())); });
  const l = await listen(server);
  return { ...l, closedAt, connections: () => connections, seen: [] };
}

/** One kept-alive client connection: sends requests in turn, records when the proxy closes it. */
function client(port: number) {
  const s = net.connect(port, '127.0.0.1');
  s.setEncoding('latin1');
  let buf = '';
  let waiter: (() => void) | undefined;
  const state = { closedAt: 0 };
  s.on('data', (d: string) => { buf += d; waiter?.(); });
  s.on('close', () => { state.closedAt = Date.now(); waiter?.(); });
  return {
    state,
    async request(path: string): Promise<string> {
      buf = '';
      s.write(`GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`);
      // Until a whole response (head and content-length body) or the close.
      const whole = () => { const h = buf.indexOf('\r\n\r\n'); return h >= 0 && buf.length >= h + 4 + Number(/content-length: *(\d+)/i.exec(buf.slice(0, h))?.[1] ?? 0); };
      while (!whole() && !state.closedAt) await new Promise<void>((r) => { waiter = r; });
      return buf.slice(9, 12);
    },
    closed: () => new Promise<number>((r) => { if (state.closedAt) r(state.closedAt); else s.once('close', () => r(state.closedAt)); }),
  };
}

test('a downstream connection closes after the idle timeout, not while a request outlasts it', { timeout: 10_000 }, async () => {
  const b = await slowBackend();
  const p = await startProxy({ filters: [], routes: [{ name: 'r', prefix: '/' }], hcm: idleOpts }, b);
  try {
    const c = client(p.port);
    assert.equal(await c.request(`/?delay=${IDLE * 2}`), '200');
    const answered = Date.now();
    assert.equal(c.state.closedAt, 0, 'open while the request was in flight');
    assert.equal(await c.request('/'), '200');
    const last = Date.now();
    const closed = await c.closed();
    assert.ok(closed - last >= IDLE - 50, `closed ${closed - last} ms after the last response`);
    assert.ok(closed - answered < IDLE * 4, `closed ${closed - answered} ms after the slow response`);
  } finally {
    await p.close();
    b.close();
  }
});

test('an upstream connection closes after the idle timeout, not while a request outlasts it', { timeout: 10_000 }, async () => {
  const b = await slowBackend();
  const cluster = {
    name: 'idle', type: 'STATIC', connectTimeout: '1s',
    loadAssignment: { clusterName: 'idle', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: b.port } } } }] }] },
    typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', { ...idleOpts, explicitHttpConfig: { httpProtocolOptions: {} } }) },
  };
  const p = await startProxy({ filters: [], routes: [{ name: 'r', prefix: '/', cluster: 'idle' }], clusters: [cluster] }, b);
  try {
    const c = client(p.port);
    assert.equal(await c.request('/'), '200');
    // Parked, then taken again for a request twice as long as the idle timeout.
    assert.equal(await c.request(`/?delay=${IDLE * 2}`), '200');
    const answered = Date.now();
    assert.equal(b.closedAt.length, 0, 'the upstream connection stayed open during the request');
    assert.equal(b.connections(), 1);
    while (!b.closedAt.length && Date.now() - answered < IDLE * 4) await new Promise((r) => setTimeout(r, 20));
    assert.equal(b.closedAt.length, 1, 'closed once idle');
    assert.ok(b.closedAt[0]! - answered >= IDLE - 50, `closed ${b.closedAt[0]! - answered} ms after the response`);
    assert.equal(await c.request('/'), '200');
    assert.equal(b.connections(), 2);
  } finally {
    await p.close();
    b.close();
  }
});
