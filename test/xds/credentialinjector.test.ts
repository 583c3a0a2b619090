// Credential injection on routes: one credential_injector filter per HTTPRouteFilter in the
// connection manager (disabled), turned on by the routes that use it, and its credential, taken
// from the IR, served as an SDS secret; validated against Envoy's protos.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseXdsIR } from '../../src/ir/load.js';
import { translateXds } from '../../src/xds/translator/index.js';
import { protoValidator } from '../../src/xds/translator/validate.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

const route = (name: string, prefix: string, injection: string) => `
  - name: ${name}
    hostname: '*'
    pathMatch: {prefix: ${prefix}}
    credentialInjection: ${injection}
    destination:
      name: ${name}-dest
      settings: [{name: ${name}-dest/backend/0, addressType: IP, endpoints: [{host: 7.7.7.7, port: 8080}], protocol: HTTP, weight: 1}]`;

const ir = parseXdsIR(`
http:
- name: default/gw/http
  address: 0.0.0.0
  port: 10080
  hostnames: ['*']
  routes:${route('one', '/one', `{name: httproutefilter/default/basic, credential: ${b64('Basic YWxpY2U6c2VjcmV0')}}`)}${route('two', '/two', `{name: httproutefilter/default/token, credential: '[redacted]', header: x-token, overwrite: true}`)}${route('three', '/three', `{name: httproutefilter/default/basic, credential: ${b64('Basic YWxpY2U6c2VjcmV0')}}`)}
  - name: plain
    hostname: '*'
    pathMatch: {prefix: /}
    destination: {name: plain-dest, settings: [{name: plain-dest/backend/0, addressType: IP, endpoints: [{host: 7.7.7.7, port: 8080}], protocol: HTTP, weight: 1}]}
`);

test('route-level credential injection: filters, per-route enabling and secrets', () => {
  const { resources, errors } = translateXds(ir, { validator: protoValidator });
  assert.deepEqual(errors, []);
  const hcm = (resources.listeners[0] as any).defaultFilterChain.filters[0].typedConfig;
  const injectors = hcm.httpFilters.filter((f: any) => f.name.startsWith('envoy.filters.http.credential_injector/'));
  assert.deepEqual(injectors.map((f: any) => [f.name, f.disabled]), [
    ['envoy.filters.http.credential_injector/httproutefilter/default/basic', true],
    ['envoy.filters.http.credential_injector/httproutefilter/default/token', true],
  ]);
  const token = injectors[1].typedConfig;
  assert.equal(token.overwrite, true);
  assert.deepEqual(token.credential.typedConfig.credential.name, 'credential_injector/credential/httproutefilter/default/token');
  assert.equal(token.credential.typedConfig.header, 'x-token');
  assert.equal(hcm.httpFilters.at(-1).name, 'envoy.filters.http.router');

  const routes = (resources.routes[0] as any).virtualHosts[0].routes;
  const enabled = (name: string) => Object.keys(routes.find((r: any) => r.name === name).typedPerFilterConfig ?? {});
  assert.deepEqual(enabled('one'), ['envoy.filters.http.credential_injector/httproutefilter/default/basic']);
  assert.deepEqual(enabled('two'), ['envoy.filters.http.credential_injector/httproutefilter/default/token']);
  assert.deepEqual(enabled('plain'), []);

  // The IR's value, as it is ("[redacted]" in an IR read from its rendering is those bytes).
  assert.deepEqual(resources.secrets.map((s: any) => [s.name, s.genericSecret.secret.inlineBytes]), [
    ['credential_injector/credential/httproutefilter/default/basic', b64('Basic YWxpY2U6c2VjcmV0')],
    ['credential_injector/credential/httproutefilter/default/token', b64('[redacted]')],
  ]);
});
