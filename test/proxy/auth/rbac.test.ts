// The HTTP RBAC filter in its matcher form, as Envoy Gateway's authorization writes it: rules on
// the client address (with x-forwarded-for trusted hops), methods, headers, JWT claims that
// jwt_authn left in dynamic metadata, and CEL expressions; first match decides, default action
// otherwise; a route without a policy is not checked.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { get, problemsOf, startProxy, typed, type Running } from './harness.js';

const action = (name: string, allow: boolean) => ({ name, typedConfig: typed('envoy.config.rbac.v3.Action', allow ? { name: 'ALLOW' } : { name: 'DENY', action: 'DENY' }) });
const header = (name: string, valueMatch: object) => ({ singlePredicate: { input: { name: 'http_header', typedConfig: typed('envoy.type.matcher.v3.HttpRequestHeaderMatchInput', { headerName: name }) }, valueMatch } });
const clientIp = (prefix: string, len: number) => ({ singlePredicate: {
  input: { name: 'client_ip', typedConfig: typed('envoy.extensions.matching.common_inputs.network.v3.SourceIPInput') },
  customMatch: { name: 'ip_matcher', typedConfig: typed('envoy.extensions.matching.input_matchers.ip.v3.Ip', { cidrRanges: [{ addressPrefix: prefix, prefixLen: len }], statPrefix: 'client_ip' }) },
} });
const claim = (path: string[], value: string, list: boolean) => ({ singlePredicate: {
  input: { name: 'claim', typedConfig: typed('envoy.extensions.matching.common_inputs.network.v3.DynamicMetadataInput', { filter: 'envoy.filters.http.jwt_authn', path: path.map((key) => ({ key })) }) },
  customMatch: { name: 'claim_matcher', typedConfig: typed('envoy.extensions.matching.input_matchers.metadata.v3.Metadata', { value: list ? { listMatch: { oneOf: { stringMatch: { exact: value } } } } : { stringMatch: { exact: value } } }) },
} });
const cel = (expr: string) => ({ singlePredicate: {
  input: { name: 'cel', typedConfig: typed('xds.type.matcher.v3.HttpAttributesCelMatchInput') },
  customMatch: { name: 'cel_matcher', typedConfig: typed('xds.type.matcher.v3.CelMatcher', { exprMatch: { celExprString: expr } }) },
} });
const rbac = (rules: { predicate: object; allow: boolean; name?: string }[], defaultAllow: boolean) => ({
  'envoy.filters.http.rbac': typed('envoy.extensions.filters.http.rbac.v3.RBACPerRoute', { rbac: { matcher: {
    matcherList: { matchers: rules.map((r, i) => ({ predicate: r.predicate, onMatch: { action: action(r.name ?? `rule-${i}`, r.allow) } })) },
    onNoMatch: { action: action('default', defaultAllow) },
  } } }),
});

describe('rbac', () => {
  let r: Running;
  let token: (claims: object) => Promise<string>;

  before(async () => {
    const kp = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(kp.publicKey)), kid: 'k' };
    token = (claims) => new SignJWT({ iss: 'https://idp', ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).sign(kp.privateKey);
    r = await startProxy({
      hcm: { xffNumTrustedHops: 1 },
      filters: [
        { name: 'envoy.filters.http.jwt_authn', typedConfig: typed('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication', {
          providers: { idp_1: { issuer: 'https://idp', forward: true, payloadInMetadata: 'idp', normalizePayloadInMetadata: { spaceDelimitedClaims: ['scope', 'scp'] }, localJwks: { inlineString: JSON.stringify({ keys: [jwk] }) } } },
          requirementMap: { idp: { providerName: 'idp_1' } },
        }) },
        { name: 'envoy.filters.http.rbac', typedConfig: typed('envoy.extensions.filters.http.rbac.v3.RBAC') },
      ],
      routes: [
        { name: 'loopback', prefix: '/loopback', perFilter: rbac([{ predicate: clientIp('127.0.0.0', 8), allow: true }], false) },
        { name: 'office', prefix: '/office', perFilter: rbac([{ predicate: clientIp('10.0.0.0', 8), allow: true, name: 'office' }], false) },
        { name: 'methods', prefix: '/methods', perFilter: rbac([{ predicate: { orMatcher: { predicate: [header(':method', { exact: 'get', ignoreCase: true }), header(':method', { exact: 'HEAD' })] } }, allow: true }], false) },
        { name: 'claims', prefix: '/claims', perFilter: {
          'envoy.filters.http.jwt_authn': typed('envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig', { requirementName: 'idp' }),
          ...rbac([
            { predicate: { andMatcher: { predicate: [claim(['idp', 'groups'], 'admin', true), claim(['idp', 'dept'], 'eng', false)] } }, allow: true },
            { predicate: { orMatcher: { predicate: [claim(['idp', 'scope'], 'write', true), claim(['idp', 'scp'], 'write', true)] } }, allow: true },
          ], false),
        } },
        { name: 'cel', prefix: '/cel', perFilter: rbac([
          { predicate: cel("request.path.startsWith('/cel/admin')"), allow: false },
          { predicate: { andMatcher: { predicate: [cel("request.method == 'POST' && request.headers['x-team'] in ['a', 'b']"), header('x-team', { exact: 'a' })] } }, allow: true },
          { predicate: cel("has(request.headers.x) && size(request.headers['x']) > 2"), allow: true },
        ], false) },
        { name: 'off', prefix: '/off', perFilter: { 'envoy.filters.http.rbac': typed('envoy.extensions.filters.http.rbac.v3.RBACPerRoute') } },
        { name: 'open', prefix: '/' },
      ],
    });
  });
  after(() => r?.close());

  test('client address rules, with the address from x-forwarded-for when a hop is trusted', async () => {
    assert.equal((await get(r.port, '/loopback')).status, 200);
    const denied = await get(r.port, '/office');
    assert.deepEqual([denied.status, denied.body], [403, 'RBAC: access denied']);
    assert.equal((await get(r.port, '/office', { 'x-forwarded-for': '10.1.2.3' })).status, 200);
    // Only the trusted hop counts: an address further left is the client's claim.
    assert.equal((await get(r.port, '/office', { 'x-forwarded-for': '10.1.2.3, 192.168.0.1' })).status, 403);
  });

  test('header rules (methods, case-insensitive) and routes without a policy', async () => {
    assert.equal((await get(r.port, '/methods')).status, 200);
    assert.equal((await get(r.port, '/methods', {}, 'POST', 'x')).status, 403);
    assert.equal((await get(r.port, '/off')).status, 200);
    assert.equal((await get(r.port, '/open')).status, 200);
  });

  test('JWT claims and scopes from jwt_authn metadata', async () => {
    const call = async (claims: object) => (await get(r.port, '/claims', { authorization: `Bearer ${await token(claims)}` })).status;
    assert.equal(await call({ groups: ['admin', 'x'], dept: 'eng' }), 200);
    assert.equal(await call({ groups: ['user'], dept: 'eng' }), 403);
    assert.equal(await call({ groups: ['admin'], dept: 'ops' }), 403);
    assert.equal(await call({ scope: 'read write' }), 200, 'space-delimited scopes are a list');
    assert.equal(await call({ scp: ['write'] }), 200);
    assert.equal(await call({ scope: 'read' }), 403);
    assert.equal((await get(r.port, '/claims')).status, 401, 'jwt_authn runs first');
  });

  test('CEL expressions over request attributes', async () => {
    assert.equal((await get(r.port, '/cel/admin/x', { 'x-team': 'a' }, 'POST', 'b')).status, 403);
    assert.equal((await get(r.port, '/cel/x', { 'x-team': 'a' }, 'POST', 'b')).status, 200);
    assert.equal((await get(r.port, '/cel/x', { 'x-team': 'b' }, 'POST', 'b')).status, 403);
    assert.equal((await get(r.port, '/cel/x', { x: 'abc' })).status, 200);
    assert.equal((await get(r.port, '/cel/x', { x: 'ab' })).status, 403);
  });

  test('what cannot be evaluated is refused with its field', async () => {
    const one = async (perFilter: object) => (await problemsOf({ filters: [{ name: 'envoy.filters.http.rbac', typedConfig: typed('envoy.extensions.filters.http.rbac.v3.RBAC') }], routes: [{ name: 'r', prefix: '/', perFilter: perFilter as Record<string, object> }] }))[0] ?? '';
    assert.match(await one({ 'envoy.filters.http.rbac': typed('envoy.extensions.filters.http.rbac.v3.RBACPerRoute', { rbac: { rules: { policies: {} } } }) }), /rbac\.rules: the classic RBAC rules form is not supported/);
    assert.match(await one(rbac([{ predicate: cel('filter_state["x"] == "y"'), allow: true }], false)), /CEL attribute filter_state is not available/);
    assert.match(await one(rbac([{ predicate: cel('request.path.startsWith('), allow: true }], false)), /invalid CEL expression/);
    const input = { singlePredicate: { input: { name: 'x', typedConfig: typed('envoy.type.matcher.v3.HttpResponseStatusCodeMatchInput') }, valueMatch: { exact: '200' } } };
    assert.match(await one(rbac([{ predicate: input, allow: true }], false)), /unsupported matching input envoy.type.matcher.v3.HttpResponseStatusCodeMatchInput/);
  });
});
