// basic_auth, api_key_auth and csrf in the proxy, configured as Envoy Gateway writes them
// (disabled by default, enabled per route; CSRF policy per route), with real requests.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { allCounters } from '../../../src/proxy/stats.js';
import { get, problemsOf, startProxy, typed, type Running } from './harness.js';

const sha = (p: string) => `{SHA}${createHash('sha1').update(p).digest('base64')}`;
const htpasswd = (users: Record<string, string>) => Buffer.from(Object.entries(users).map(([u, p]) => `${u}:${sha(p)}\n`).join('')).toString('base64');
const basic = (u: string, p: string) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

describe('basic_auth', () => {
  let r: Running;
  const name = 'envoy.filters.http.basic_auth/securitypolicy/default/p';
  before(async () => {
    r = await startProxy({
      filters: [{ name, disabled: true, typedConfig: typed('envoy.extensions.filters.http.basic_auth.v3.BasicAuth', { users: { inlineBytes: htpasswd({ x: 'y' }) }, forwardUsernameHeader: 'x-user' }) }],
      routes: [
        { name: 'protected', prefix: '/p', perFilter: { [name]: typed('envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute', { users: { inlineBytes: htpasswd({ alice: 'secret', bob: 'pw' }) } }) } },
        { name: 'open', prefix: '/' },
      ],
    });
  });
  after(() => r?.close());

  test('a route without the per-route config is not checked', async () => {
    assert.equal((await get(r.port, '/open')).status, 200);
  });

  test('missing, malformed and wrong credentials are refused with 401 and a challenge', async () => {
    const missing = await get(r.port, '/p/x?q=1');
    assert.equal(missing.status, 401);
    assert.equal(missing.body, 'User authentication failed. Missing username and password.');
    assert.equal(missing.headers['www-authenticate'], 'Basic realm="http://www.example.com/p/x?q=1"');
    assert.equal((await get(r.port, '/p', { authorization: 'Bearer abc' })).body, "User authentication failed. Expected 'Basic' authentication scheme.");
    assert.equal((await get(r.port, '/p', { authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` })).body, 'User authentication failed. Invalid basic credential format.');
    const wrong = await get(r.port, '/p', { authorization: basic('alice', 'nope') });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body, 'User authentication failed. Invalid username/password combination.');
    // The listener's users do not apply where the route brings its own.
    assert.equal((await get(r.port, '/p', { authorization: basic('x', 'y') })).status, 401);
  });

  test('valid credentials pass and the user name is forwarded', async () => {
    const ok = await get(r.port, '/p', { authorization: basic('bob', 'pw') });
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).headers['x-user'], 'bob');
    assert.ok(allCounters().get('http.http.basic_auth.allowed')!.value >= 1);
  });

  test('htpasswd problems are refused at configuration time, naming the field', async () => {
    const bad = (users: string) => problemsOf({ filters: [{ name, typedConfig: typed('envoy.extensions.filters.http.basic_auth.v3.BasicAuth', { users: { inlineString: users } }) }], routes: [{ name: 'r', prefix: '/' }] });
    assert.match((await bad('u:$apr1$xyz'))[0]!, /users: unsupported htpasswd format: please use \{SHA\} for 'u'/);
    assert.match((await bad(`u:${sha('a')}\nu:${sha('b')}`))[0]!, /duplicate user 'u'/);
    assert.match((await bad('nocolon'))[0]!, /invalid htpasswd format/);
  });
});

describe('api_key_auth', () => {
  let r: Running;
  const name = 'envoy.filters.http.api_key_auth';
  const perRoute = (body: object) => typed('envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuthPerRoute', body);
  before(async () => {
    r = await startProxy({
      filters: [{ name, disabled: true, typedConfig: typed('envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth', { credentials: [{ key: 'k0', client: 'c0' }], keySources: [{ header: 'x-api-key' }] }) }],
      routes: [
        { name: 'hdr', prefix: '/hdr', perFilter: { [name]: perRoute({ credentials: [{ key: 'key1', client: 'client-1' }], keySources: [{ header: 'X-API-KEY' }, { header: 'X-API-KEY-2' }], forwarding: { header: 'X-Client', hideCredentials: true } }) } },
        { name: 'query', prefix: '/query', perFilter: { [name]: perRoute({ credentials: [{ key: 'key2', client: 'client-2' }], keySources: [{ query: 'api_key' }], forwarding: { hideCredentials: true } }) } },
        { name: 'cookie', prefix: '/cookie', perFilter: { [name]: perRoute({ credentials: [{ key: 'key3', client: 'client-3' }, { key: 'key4', client: 'client-4' }], keySources: [{ cookie: 'k' }], allowedClients: ['client-3'] }) } },
        { name: 'open', prefix: '/' },
      ],
    });
  });
  after(() => r?.close());

  test('keys from headers (Bearer prefix too), with client forwarding and the key hidden', async () => {
    assert.equal((await get(r.port, '/hdr')).status, 401);
    assert.equal((await get(r.port, '/hdr', { 'x-api-key': 'wrong' })).body, 'Client authentication failed.');
    const ok = await get(r.port, '/hdr', { 'x-api-key-2': 'Bearer key1' });
    assert.equal(ok.status, 200);
    const seen = JSON.parse(ok.body);
    assert.equal(seen.headers['x-client'], 'client-1');
    assert.equal(seen.headers['x-api-key-2'], undefined);
  });

  test('keys from the query string and cookies; clients a route does not allow get 403', async () => {
    const q = await get(r.port, '/query/a?x=1&api_key=key2&y=2');
    assert.equal(q.status, 200);
    assert.equal(JSON.parse(q.body).path, '/query/a?x=1&y=2');
    assert.equal((await get(r.port, '/cookie', { cookie: 'a=b; k=key3' })).status, 200);
    const forbidden = await get(r.port, '/cookie', { cookie: 'k=key4' });
    assert.deepEqual([forbidden.status, forbidden.body], [403, 'Client is forbidden.']);
    assert.equal((await get(r.port, '/open')).status, 200);
  });
});

describe('csrf', () => {
  let r: Running;
  const policy = (body: object) => typed('envoy.extensions.filters.http.csrf.v3.CsrfPolicy', body);
  before(async () => {
    r = await startProxy({
      filters: [{ name: 'envoy.filters.http.csrf', typedConfig: policy({ filterEnabled: { defaultValue: {} } }) }],
      routes: [
        { name: 'enforced', prefix: '/enforced', perFilter: { 'envoy.filters.http.csrf': policy({ filterEnabled: { defaultValue: { numerator: 100 } }, additionalOrigins: [{ exact: 'trusted.example.com' }, { safeRegex: { regex: '.*\\.partner\\.com' } }] }) } },
        { name: 'shadow', prefix: '/shadow', perFilter: { 'envoy.filters.http.csrf': policy({ filterEnabled: { defaultValue: {} }, shadowEnabled: { defaultValue: { numerator: 100 } } }) } },
        { name: 'open', prefix: '/' },
      ],
    });
  });
  after(() => r?.close());

  test('cross-origin mutations are refused; same origin, additional origins and safe methods pass', async () => {
    const cross = await get(r.port, '/enforced', { origin: 'https://evil.com' }, 'POST', 'x');
    assert.deepEqual([cross.status, cross.body], [403, 'Invalid origin']);
    assert.equal((await get(r.port, '/enforced', {}, 'DELETE')).status, 403, 'no origin at all');
    assert.equal((await get(r.port, '/enforced', { origin: 'https://www.example.com' }, 'POST', 'x')).status, 200);
    assert.equal((await get(r.port, '/enforced', { referer: 'https://www.example.com/page?a=1' }, 'PUT', 'x')).status, 200);
    assert.equal((await get(r.port, '/enforced', { origin: 'https://trusted.example.com' }, 'POST', 'x')).status, 200);
    assert.equal((await get(r.port, '/enforced', { origin: 'http://a.partner.com' }, 'PATCH', 'x')).status, 200);
    assert.equal((await get(r.port, '/enforced', { origin: 'https://evil.com' })).status, 200, 'GET is not checked');
  });

  test('shadow mode counts without refusing; the listener policy enforces nothing', async () => {
    const before = allCounters().get('http.http.csrf.request_invalid')?.value ?? 0;
    assert.equal((await get(r.port, '/shadow', { origin: 'https://evil.com' }, 'POST', 'x')).status, 200);
    assert.equal(allCounters().get('http.http.csrf.request_invalid')!.value, before + 1);
    assert.equal((await get(r.port, '/open', { origin: 'https://evil.com' }, 'POST', 'x')).status, 200);
  });
});
