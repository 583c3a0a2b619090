// stateful_session through a real proxy with a two-host round-robin cluster: a cookie or header
// session keeps a client on the host that first answered it; a session naming a host the cluster
// does not have is balanced and moved (or, strict, refused with 503); routes without session
// persistence keep alternating; a disabled per-route config turns it off.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { get, listen, problemsOf, staticCluster, startProxy, typed, type Running } from '../auth/harness.js';

const SS = 'envoy.extensions.filters.http.stateful_session.v3.StatefulSession';
const PER_ROUTE = 'envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute';
const FILTER = 'envoy.filters.http.stateful_session';
const cookie = (c: object) => ({ name: 'envoy.http.stateful_session.cookie', typedConfig: typed('envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState', { cookie: c }) });
const header = (name: string) => ({ name: 'envoy.http.stateful_session.header', typedConfig: typed('envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState', { name }) });
const perRoute = (body: object) => ({ [FILTER]: typed(PER_ROUTE, body) });
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('stateful_session', () => {
  const backends: { port: number; close(): void }[] = [];
  let p: Running;
  before(async () => {
    for (const name of ['one', 'two']) backends.push(await listen(http.createServer((req, res) => { req.resume(); res.end(name); })));
    p = await startProxy({
      filters: [{ name: FILTER, disabled: true, typedConfig: typed(SS, { sessionState: header('session-header') }) }],
      clusters: [staticCluster('pair', backends.map((b) => b.port))],
      routes: [
        { name: 'ck', prefix: '/app', cluster: 'pair', perFilter: perRoute({ statefulSession: { sessionState: cookie({ name: 'sticky', path: '/app', ttl: '3600s' }) } }) },
        { name: 'hd', prefix: '/hdr', cluster: 'pair', perFilter: perRoute({ statefulSession: { sessionState: header('session-header') } }) },
        { name: 'strict', prefix: '/strict', cluster: 'pair', perFilter: perRoute({ statefulSession: { sessionState: header('session-header'), strict: true } }) },
        { name: 'off', prefix: '/off', cluster: 'pair', perFilter: perRoute({ disabled: true }) },
        { name: 'plain', prefix: '/', cluster: 'pair' },
      ],
    });
  });
  after(async () => { await p.close(); for (const b of backends) b.close(); });

  test('a cookie session keeps the client on its host', async () => {
    const first = await get(p.port, '/app/x');
    const setCookie = String(first.headers['set-cookie']);
    const m = /^sticky="([^"]+)"; Max-Age=3600; Path=\/app; HttpOnly$/.exec(setCookie);
    assert.ok(m, setCookie);
    const port = backends[first.body === 'one' ? 0 : 1]!.port;
    assert.equal(Buffer.from(m[1]!, 'base64').toString(), `127.0.0.1:${port}`);
    for (let i = 0; i < 4; i++) {
      const r = await get(p.port, '/app/y', { cookie: `other=1; sticky="${m[1]}"` });
      assert.equal(r.body, first.body);
      // The session is where it was: no new cookie.
      assert.equal(r.headers['set-cookie'], undefined);
    }
  });

  test('a header session keeps the client on its host; an unknown host is replaced', async () => {
    const first = await get(p.port, '/hdr');
    const session = first.headers['session-header'] as string;
    assert.ok(session);
    for (let i = 0; i < 3; i++) assert.equal((await get(p.port, '/hdr', { 'session-header': session })).body, first.body);
    const moved = await get(p.port, '/hdr', { 'session-header': b64('10.9.9.9:80') });
    assert.equal(moved.status, 200);
    assert.match(Buffer.from(moved.headers['session-header'] as string, 'base64').toString(), /^127\.0\.0\.1:\d+$/);
  });

  test('strict: a session naming a host not in the cluster is refused with 503', async () => {
    assert.equal((await get(p.port, '/strict', { 'session-header': b64('10.9.9.9:80') })).status, 503);
    assert.equal((await get(p.port, '/strict')).status, 200);
  });

  test('routes without a session (or with it disabled) keep balancing', async () => {
    for (const path of ['/plain', '/off']) {
      const bodies = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const r = await get(p.port, path, { 'session-header': b64(`127.0.0.1:${backends[0]!.port}`) });
        bodies.add(r.body);
        assert.equal(r.headers['session-header'], undefined);
      }
      assert.deepEqual([...bodies].sort(), ['one', 'two'], path);
    }
  });

  test('a cookie outside its path is not read or set', async () => {
    const r = await get(p.port, '/application');
    assert.equal(r.headers['set-cookie'], undefined);
  });

  test('refused: an unknown session state, a per-route config without a session', async () => {
    const bad = { filters: [{ name: FILTER, typedConfig: typed(SS, { sessionState: { name: 'x', typedConfig: typed('envoy.extensions.http.stateful_session.envelope.v3.EnvelopeSessionState', {}) } }) }], routes: [{ name: 'r', prefix: '/' }] };
    assert.match((await problemsOf(bad)).join('\n'), /sessionState\.typedConfig: unsupported session state/);
    const none = { filters: [{ name: FILTER, disabled: true, typedConfig: typed(SS, {}) }], routes: [{ name: 'r', prefix: '/', perFilter: perRoute({}) }] };
    assert.match((await problemsOf(none)).join('\n'), /one of disabled or stateful_session is required/);
  });
});
