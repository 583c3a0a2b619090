// The oauth2 filter's OIDC flow against a tiny local OpenID provider: login redirect with state
// and PKCE, callback with the code exchanged at the token endpoint through its cluster (client
// secret by Basic auth), session cookies that let later requests through with the bearer token,
// refresh of an expired session, sign-out, pass-through and deny-redirect matchers, CSRF checks.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { get, listen, staticCluster, startProxy, typed, type Reply, type Running } from './harness.js';

const perRoute = (config: object) => ({ 'envoy.filters.http.oauth2': typed('envoy.extensions.filters.http.oauth2.v3.OAuth2PerRoute', { config }) });
const sds = (name: string) => ({ name, sdsConfig: { ads: {}, resourceApiVersion: 'V3' } });

/** Cookies a response sets, as name → value (for the next request's Cookie header). */
function setCookies(r: Reply): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of [r.headers['set-cookie'] ?? []].flat()) {
    const [nv] = c.split(';');
    const eq = nv!.indexOf('=');
    out.set(nv!.slice(0, eq), nv!.slice(eq + 1));
  }
  return out;
}
const cookieHeader = (m: Map<string, string>) => [...m].filter(([, v]) => v !== 'deleted').map(([k, v]) => `${k}=${v}`).join('; ');

describe('oauth2 (OIDC)', () => {
  let r: Running;
  let idp: { port: number; close(): void };
  const codes = new Map<string, string>(); // code -> code_challenge
  const tokenRequests: { auth: string | undefined; form: URLSearchParams }[] = [];
  let expiresIn = 3600;
  let issued = 0;

  before(async () => {
    idp = await listen(http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        tokenRequests.push({ auth: req.headers.authorization, form });
        const okClient = req.headers.authorization === `Basic ${Buffer.from('my-client:s3cret').toString('base64')}`;
        res.setHeader('content-type', 'application/json');
        if (req.url !== '/oauth/token' || !okClient) { res.statusCode = 401; res.end('{"error":"invalid_client"}'); return; }
        if (form.get('grant_type') === 'authorization_code') {
          const challenge = codes.get(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          if (!challenge || createHash('sha256').update(verifier).digest('base64url') !== challenge) { res.statusCode = 400; res.end('{"error":"invalid_grant"}'); return; }
        } else if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== 'refresh-1') { res.statusCode = 400; res.end('{"error":"invalid_grant"}'); return; }
        issued++;
        res.end(JSON.stringify({ access_token: `access-${issued}`, id_token: `id-${issued}`, refresh_token: 'refresh-1', expires_in: expiresIn, token_type: 'Bearer' }));
      });
    }));
    const config = {
      authScopes: ['openid', 'email'], authType: 'BASIC_AUTH', authorizationEndpoint: 'https://idp.example.com/authorize',
      credentials: {
        clientId: 'my-client', hmacSecret: sds('oauth2/hmac_secret/p'), tokenSecret: sds('oauth2/client_secret/p'),
        cookieNames: { bearerToken: 'AccessToken-x', idToken: 'IdToken-x', oauthExpires: 'OauthExpires-x', oauthHmac: 'OauthHMAC-x', oauthNonce: 'OauthNonce-x', refreshToken: 'RefreshToken-x' },
      },
      forwardBearerToken: true,
      passThroughMatcher: [{ name: 'x-api-client', stringMatch: { exact: 'yes' } }],
      denyRedirectMatcher: [{ name: 'x-requested-with', stringMatch: { exact: 'XMLHttpRequest' } }],
      redirectPathMatcher: { path: { exact: '/oauth2/callback' } },
      redirectUri: '%REQ(x-forwarded-proto)%://%REQ(:authority)%/oauth2/callback',
      signoutPath: { path: { exact: '/logout' } },
      statPrefix: 'securitypolicy/default/p',
      tokenEndpoint: { cluster: 'idp', timeout: '2s', uri: `http://idp.example.com:${idp.port}/oauth/token` },
      useRefreshToken: true,
    };
    r = await startProxy({
      filters: [{ name: 'envoy.filters.http.oauth2', typedConfig: typed('envoy.extensions.filters.http.oauth2.v3.OAuth2') }],
      clusters: [staticCluster('idp', [idp.port])],
      secrets: [
        { name: 'oauth2/client_secret/p', genericSecret: { secret: { inlineString: 's3cret' } } },
        { name: 'oauth2/hmac_secret/p', genericSecret: { secret: { inlineBytes: Buffer.from('hmac-key-0123456789').toString('base64') } } },
      ],
      routes: [
        { name: 'app', prefix: '/', perFilter: perRoute(config) },
      ],
    });
  });
  after(async () => { await r?.close(); idp?.close(); });

  /** Follows the login: redirect → (the provider authorizes) → callback; returns the session cookies. */
  async function login(path: string): Promise<Map<string, string>> {
    const first = await get(r.port, path);
    assert.equal(first.status, 302);
    const loc = new URL(first.headers.location!);
    assert.equal(`${loc.origin}${loc.pathname}`, 'https://idp.example.com/authorize');
    assert.equal(loc.searchParams.get('client_id'), 'my-client');
    assert.equal(loc.searchParams.get('response_type'), 'code');
    assert.equal(loc.searchParams.get('scope'), 'openid email');
    assert.equal(loc.searchParams.get('redirect_uri'), 'http://www.example.com/oauth2/callback');
    assert.equal(loc.searchParams.get('code_challenge_method'), 'S256');
    const code = `code-${codes.size}`;
    codes.set(code, loc.searchParams.get('code_challenge')!);
    const flowCookies = setCookies(first);
    assert.ok(flowCookies.has('OauthNonce-x'));
    const cb = await get(r.port, `/oauth2/callback?code=${code}&state=${loc.searchParams.get('state')}`, { cookie: cookieHeader(flowCookies) });
    assert.equal(cb.status, 302, cb.body);
    assert.equal(cb.headers.location, `http://www.example.com${path}`);
    const session = setCookies(cb);
    for (const n of ['OauthHMAC-x', 'OauthExpires-x', 'AccessToken-x', 'IdToken-x', 'RefreshToken-x']) assert.ok(session.has(n), n);
    assert.match([cb.headers['set-cookie']].flat().join('\n'), /AccessToken-x=[^;]+;path=\/;Max-Age=\d+;secure;HttpOnly/);
    return session;
  }

  test('login redirect, callback with code exchange, then the session passes with the bearer token', async () => {
    const session = await login('/app/page?x=1');
    const last = tokenRequests.at(-1)!;
    assert.equal(last.form.get('grant_type'), 'authorization_code');
    assert.equal(last.form.get('redirect_uri'), 'http://www.example.com/oauth2/callback');
    assert.equal(last.form.get('client_secret'), null, 'BASIC_AUTH keeps the secret out of the body');
    const ok = await get(r.port, '/app/page?x=1', { cookie: cookieHeader(session) });
    assert.equal(ok.status, 200, ok.body);
    const up = JSON.parse(ok.body);
    assert.match(up.headers.authorization, /^Bearer access-\d+$/);
    assert.equal(up.headers.cookie, undefined, 'session cookies stay at the proxy');
    // Over ADS, the secrets the route's config names are subscribed to.
    assert.deepEqual(r.proxy.secretNames().sort(), ['oauth2/client_secret/p', 'oauth2/hmac_secret/p']);
  });

  test('tampered cookies and a forged state restart or fail the flow', async () => {
    const session = await login('/a');
    const tampered = new Map(session);
    tampered.set('OauthExpires-x', String(Number(session.get('OauthExpires-x')) + 1000));
    assert.equal((await get(r.port, '/a', { cookie: cookieHeader(tampered) })).status, 302);
    const first = await get(r.port, '/b');
    const state = new URL(first.headers.location!).searchParams.get('state');
    // The state without the nonce cookie that goes with it (a forged callback).
    const forged = await get(r.port, `/oauth2/callback?code=x&state=${state}`);
    assert.deepEqual([forged.status, forged.body], [401, 'OAuth flow failed.']);
  });

  test('an expired session is renewed with the refresh token', async () => {
    expiresIn = 1;
    const session = await login('/r');
    expiresIn = 3600;
    await new Promise((res) => setTimeout(res, 1100));
    const before = issued;
    const renewed = await get(r.port, '/r', { cookie: cookieHeader(session) });
    assert.equal(renewed.status, 200, renewed.body);
    assert.equal(issued, before + 1);
    assert.equal(tokenRequests.at(-1)!.form.get('grant_type'), 'refresh_token');
    assert.equal(JSON.parse(renewed.body).headers.authorization, `Bearer access-${issued}`);
    assert.ok(setCookies(renewed).has('OauthHMAC-x'), 'the new session goes to the client');
  });

  test('sign-out clears the cookies; pass-through and deny-redirect matchers', async () => {
    const out = await get(r.port, '/logout');
    assert.equal(out.status, 302);
    assert.equal(out.headers.location, 'http://www.example.com/');
    assert.match([out.headers['set-cookie']].flat().join('\n'), /OauthHMAC-x=deleted; path=\/; expires=Thu, 01 Jan 1970 00:00:00 GMT/);
    assert.equal((await get(r.port, '/api', { 'x-api-client': 'yes' })).status, 200);
    assert.equal((await get(r.port, '/api', { 'x-requested-with': 'XMLHttpRequest' })).status, 401);
  });
});
