// jwt_authn in the proxy as Envoy Gateway configures it: providers with a remote JWKS (served by
// a local server through a cluster, fetched asynchronously and cached) or a local one,
// requirements per route through requirement_map, claim_to_headers, allow-missing requirements.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { get, listen, problemsOf, staticCluster, startProxy, typed, type Running } from './harness.js';

const JWT = 'envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication';
const perRoute = (requirementName: string) => ({ 'envoy.filters.http.jwt_authn': typed('envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig', { requirementName }) });

describe('jwt_authn', () => {
  let r: Running;
  let jwksServer: { port: number; close(): void };
  let jwksHits = 0;
  let sign: (claims: Record<string, unknown>, opts?: { exp?: number | string; kid?: string; key?: 'remote' | 'local' | 'other' }) => Promise<string>;
  const now = () => Math.floor(Date.now() / 1000);

  before(async () => {
    const remote = await generateKeyPair('RS256', { extractable: true });
    const local = await generateKeyPair('ES256', { extractable: true });
    const other = await generateKeyPair('RS256', { extractable: true });
    const remoteJwk: JWK = { ...(await exportJWK(remote.publicKey)), kid: 'r1', alg: 'RS256', use: 'sig' };
    const localJwk: JWK = { ...(await exportJWK(local.publicKey)), kid: 'l1' };
    sign = async (claims, opts = {}) => {
      const which = opts.key ?? 'remote';
      const key = which === 'local' ? local.privateKey : which === 'other' ? other.privateKey : remote.privateKey;
      const j = new SignJWT(claims).setProtectedHeader({ alg: which === 'local' ? 'ES256' : 'RS256', kid: opts.kid ?? (which === 'local' ? 'l1' : 'r1') }).setIssuedAt();
      if (opts.exp !== undefined) j.setExpirationTime(opts.exp);
      return j.sign(key);
    };
    jwksServer = await listen(http.createServer((req, res) => {
      jwksHits++;
      assert.equal(req.url, '/jwt/public-key/jwks.json');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [remoteJwk] }));
    }));
    const remoteProvider = {
      issuer: 'https://one.example.com', audiences: ['one.foo.com'], forward: true,
      claimToHeaders: [{ claimName: 'claim1', headerName: 'x-claim1' }, { claimName: 'nested.v', headerName: 'x-nested' }],
      payloadInMetadata: 'one', normalizePayloadInMetadata: { spaceDelimitedClaims: ['scope', 'scp'] },
      remoteJwks: { asyncFetch: {}, cacheDuration: '300s', httpUri: { cluster: 'jwks', timeout: '2s', uri: `http://one.example.com:${jwksServer.port}/jwt/public-key/jwks.json` } },
    };
    const localProvider = {
      issuer: 'https://local.example.com', forward: false, fromHeaders: [{ name: 'X-Token', valuePrefix: 'Token ' }], fromCookies: ['tok'],
      localJwks: { inlineString: JSON.stringify({ keys: [localJwk] }) },
    };
    r = await startProxy({
      filters: [{ name: 'envoy.filters.http.jwt_authn', typedConfig: typed(JWT, {
        providers: { remote_1: remoteProvider, local_1: localProvider },
        requirementMap: {
          one: { providerName: 'remote_1' },
          'local-or-missing': { requiresAny: { requirements: [{ providerName: 'local_1' }, { allowMissing: {} }] } },
          either: { requiresAny: { requirements: [{ providerName: 'remote_1' }, { providerName: 'local_1' }] } },
        },
      }) }],
      clusters: [staticCluster('jwks', [jwksServer.port])],
      routes: [
        { name: 'one', prefix: '/one', perFilter: perRoute('one') },
        { name: 'optional', prefix: '/optional', perFilter: perRoute('local-or-missing') },
        { name: 'either', prefix: '/either', perFilter: perRoute('either') },
        { name: 'open', prefix: '/' },
      ],
    });
  });
  after(async () => { await r?.close(); jwksServer?.close(); });

  test('a missing token is refused with 401 and a Bearer challenge; open routes are not checked', async () => {
    const res = await get(r.port, '/one/x?a=1');
    assert.equal(res.status, 401);
    assert.equal(res.body, 'Jwt is missing');
    assert.equal(res.headers['www-authenticate'], 'Bearer realm="http://www.example.com/one/x?a=1"');
    assert.equal((await get(r.port, '/open')).status, 200);
  });

  test('a valid token passes; its claims are copied to headers (spoofed ones dropped)', async () => {
    const t = await sign({ iss: 'https://one.example.com', aud: 'one.foo.com', claim1: 'v1', nested: { v: 7 }, scope: 'a b' }, { exp: '5m' });
    const res = await get(r.port, '/one', { authorization: `Bearer ${t}`, 'x-claim1': 'spoofed' });
    assert.equal(res.status, 200, res.body);
    const seen = JSON.parse(res.body);
    assert.equal(seen.headers['x-claim1'], 'v1');
    assert.equal(seen.headers['x-nested'], '7');
    assert.equal(seen.headers.authorization, `Bearer ${t}`, 'forward: true keeps the token');
    assert.ok(jwksHits >= 1);
  });

  test('expired, not-yet-valid, badly signed, foreign and malformed tokens are refused with their reason', async () => {
    const call = async (t: string) => { const x = await get(r.port, '/one', { authorization: `Bearer ${t}` }); return [x.status, x.body, x.headers['www-authenticate']]; };
    const realm = 'Bearer realm="http://www.example.com/one", error="invalid_token"';
    assert.deepEqual(await call(await sign({ iss: 'https://one.example.com', aud: 'one.foo.com' }, { exp: now() - 3600 })), [401, 'Jwt is expired', realm]);
    // Within the 60 s clock skew, a just-expired token is still accepted.
    assert.equal((await call(await sign({ iss: 'https://one.example.com', aud: 'one.foo.com' }, { exp: now() - 10 })))[0], 200);
    assert.deepEqual(await call(await sign({ iss: 'https://one.example.com', aud: 'one.foo.com', nbf: now() + 3600 })), [401, 'Jwt not yet valid', realm]);
    assert.deepEqual(await call(await sign({ iss: 'https://one.example.com', aud: 'one.foo.com' }, { key: 'other' })), [401, 'Jwt verification fails', realm]);
    assert.deepEqual(await call(await sign({ iss: 'https://one.example.com', aud: 'one.foo.com' }, { key: 'other', kid: 'nope' })), [401, "Jwks doesn't have key to match kid or alg from Jwt", realm]);
    assert.deepEqual(await call(await sign({ iss: 'https://evil.example.com', aud: 'one.foo.com' })), [401, 'Jwt issuer is not configured', realm]);
    assert.deepEqual(await call('abc.def'), [401, 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections', realm]);
    assert.deepEqual((await call(await sign({ iss: 'https://one.example.com', aud: 'other.com' }))).slice(0, 2), [403, 'Audiences in Jwt are not allowed']);
  });

  test('allow-missing requirements pass without a token but not with a bad one; local JWKS, custom locations, forward: false', async () => {
    assert.equal((await get(r.port, '/optional')).status, 200);
    const good = await sign({ iss: 'https://local.example.com' }, { key: 'local' });
    const res = await get(r.port, '/optional', { 'x-token': `Token ${good}` });
    assert.equal(res.status, 200, res.body);
    assert.equal(JSON.parse(res.body).headers['x-token'], undefined, 'forward: false removes the token header');
    assert.equal((await get(r.port, '/optional', { cookie: `tok=${good}` })).status, 200);
    const bad = await sign({ iss: 'https://local.example.com' }, { key: 'remote', kid: 'l1' });
    assert.equal((await get(r.port, '/optional', { 'x-token': `Token ${bad}` })).status, 401);
  });

  test('requires_any accepts a token of either provider and reports the real failure', async () => {
    assert.equal((await get(r.port, '/either', { cookie: `tok=${await sign({ iss: 'https://local.example.com' }, { key: 'local' })}` })).status, 200);
    assert.equal((await get(r.port, '/either', { authorization: `Bearer ${await sign({ iss: 'https://one.example.com', aud: 'one.foo.com' })}` })).status, 200);
    const expired = await get(r.port, '/either', { authorization: `Bearer ${await sign({ iss: 'https://one.example.com', aud: 'one.foo.com' }, { exp: now() - 3600 })}` });
    assert.deepEqual([expired.status, expired.body], [401, 'Jwt is expired']);
    assert.equal((await get(r.port, '/either')).body, 'Jwt is missing');
  });

  test('configuration the proxy cannot honour is refused precisely', async () => {
    const base = (cfg: object) => problemsOf({ filters: [{ name: 'envoy.filters.http.jwt_authn', typedConfig: typed(JWT, cfg) }], routes: [{ name: 'r', prefix: '/' }] });
    assert.match((await base({ providers: { p: { localJwks: { inlineString: '{}' } } }, requirementMap: { x: { providerName: 'q' } } }))[0]!, /requirementMap\.x\.providerName: unknown provider q/);
    assert.match((await base({ providers: { p: { localJwks: { inlineString: '{}' } } }, rules: [{ match: { prefix: '/' } }] }))[0]!, /rules: not supported/);
    assert.match((await base({ providers: { p: {} } }))[0]!, /providers\.p: a provider needs remote_jwks or local_jwks/);
  });
});
