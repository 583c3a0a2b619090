// Redaction of the fields Envoy's protos mark sensitive, as Envoy's config dump does it: the
// annotation carried into the schema, the walk through nested messages, lists, maps, Any and
// TypedStruct, what a sensitive value becomes, and everything else left as it is (shared, never
// changed in the input). Over the corpus: every expected xDS output, redacted, differs from the
// original only inside sensitive fields.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REDACTED, REDACTED_BYTES, TYPE_URL, redactSensitive } from '../../../src/xds/proto/index.js';
import { registry } from '../../../src/xds/proto/registry.js';
import { corpusSkipReason, corpusSuiteDir } from '../../support/corpus.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const any = (name: string, body: object) => ({ '@type': `type.googleapis.com/${name}`, ...body });
const SECRET = 'envoy.extensions.transport_sockets.tls.v3.Secret';

test('the schema carries (udpa.annotations.sensitive), shipped protos and our supplement alike', () => {
  const marked: string[] = [];
  for (const [name, m] of Object.entries(registry().schema.messages)) for (const f of m.fields) if (f.sensitive) marked.push(`${name}.${f.name}`);
  // Exactly the fields the dumps redact: those Envoy marks, in the shipped protos and in ours.
  assert.deepEqual(marked.sort(), [
    'envoy.config.core.v3.GrpcService.GoogleGrpc.SslCredentials.private_key',
    'envoy.config.grpc_credential.v3.FileBasedMetadataConfig.secret_data',
    'envoy.config.trace.v3.ClientConfig.backend_token',
    'envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth.credentials',
    'envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuthPerRoute.credentials',
    'envoy.extensions.filters.http.basic_auth.v3.BasicAuth.users',
    'envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute.users',
    'envoy.extensions.filters.http.ext_authz.v3.CheckSettings.context_extensions',
    'envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions.auth_password',
    'envoy.extensions.filters.network.redis_proxy.v3.RedisProtocolOptions.auth_username',
    'envoy.extensions.filters.network.redis_proxy.v3.RedisProxy.downstream_auth_password',
    'envoy.extensions.filters.network.redis_proxy.v3.RedisProxy.downstream_auth_passwords',
    'envoy.extensions.filters.network.redis_proxy.v3.RedisProxy.downstream_auth_username',
    'envoy.extensions.transport_sockets.tls.v3.GenericSecret.secret',
    'envoy.extensions.transport_sockets.tls.v3.PrivateKeyProvider.typed_config',
    'envoy.extensions.transport_sockets.tls.v3.TlsCertificate.password',
    'envoy.extensions.transport_sockets.tls.v3.TlsCertificate.pkcs12',
    'envoy.extensions.transport_sockets.tls.v3.TlsCertificate.private_key',
    'envoy.extensions.transport_sockets.tls.v3.TlsSessionTicketKeys.keys',
  ]);
});

test('secrets: a sensitive DataSource keeps its form, its data is "[redacted]" (bytes: the bytes of that text)', () => {
  const input = [
    { name: 'tls', tlsCertificate: { certificateChain: { inlineBytes: b64('CERT') }, privateKey: { inlineBytes: b64('KEY') }, password: { inlineString: 'PASSWORD' } } },
    { name: 'file', tlsCertificate: { certificateChain: { filename: '/c.pem' }, privateKey: { filename: '/k.pem' } } },
    { name: 'hmac', genericSecret: { secret: { inlineBytes: b64('HMAC') } } },
    { name: 'tickets', sessionTicketKeys: { keys: [{ inlineBytes: b64('K1') }, { inlineString: 'K2' }] } },
    { name: 'ca', validationContext: { trustedCa: { inlineBytes: b64('CA') } } },
  ];
  const before = structuredClone(input);
  const out = input.map((s) => redactSensitive(SECRET, s));
  assert.deepEqual(out, [
    { name: 'tls', tlsCertificate: { certificateChain: { inlineBytes: b64('CERT') }, privateKey: { inlineBytes: REDACTED_BYTES }, password: { inlineString: REDACTED } } },
    { name: 'file', tlsCertificate: { certificateChain: { filename: '/c.pem' }, privateKey: { filename: REDACTED } } },
    { name: 'hmac', genericSecret: { secret: { inlineBytes: REDACTED_BYTES } } },
    { name: 'tickets', sessionTicketKeys: { keys: [{ inlineBytes: REDACTED_BYTES }, { inlineString: REDACTED }] } },
    { name: 'ca', validationContext: { trustedCa: { inlineBytes: b64('CA') } } },
  ]);
  assert.equal(REDACTED_BYTES, 'W3JlZGFjdGVkXQ==');
  assert.deepEqual(input, before, 'the input is not changed');
  assert.equal(out[4], input[4], 'a secret without sensitive data is returned as it is');
  // proto field names (a static configuration file) are fields too
  assert.deepEqual(redactSensitive(SECRET, { name: 's', tls_certificate: { private_key: { inline_string: 'KEY' } } }),
    { name: 's', tls_certificate: { private_key: { inline_string: REDACTED } } });
});

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

test('filter configs: typed_config and typed_per_filter_config Anys are resolved and redacted, the rest is shared', () => {
  const listener = {
    name: 'l',
    address: { socketAddress: { address: '0.0.0.0', portValue: 10080 } },
    defaultFilterChain: {
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typedConfig: any(HCM, {
          statPrefix: 'http',
          httpFilters: [
            { name: 'envoy.filters.http.basic_auth/a', typedConfig: any('envoy.extensions.filters.http.basic_auth.v3.BasicAuth', { users: { inlineBytes: b64('alice:{SHA}xyz') }, forwardUsernameHeader: 'x-user' }) },
            { name: 'envoy.filters.http.api_key_auth/k', typedConfig: any('envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuth', { credentials: [{ key: 'key-1', client: 'client-1' }], keySources: [{ header: 'x-api-key' }] }) },
            { name: 'envoy.filters.http.router', typedConfig: any('envoy.extensions.filters.http.router.v3.Router', {}) },
          ],
        }),
      }],
    },
  };
  const out = redactSensitive(TYPE_URL.listener, listener) as typeof listener;
  const filters = (out.defaultFilterChain.filters[0]!.typedConfig as any).httpFilters;
  assert.deepEqual(filters[0].typedConfig.users, { inlineBytes: REDACTED_BYTES });
  assert.equal(filters[0].typedConfig.forwardUsernameHeader, 'x-user');
  // The whole credential is sensitive: client ids too, as Envoy shows them.
  assert.deepEqual(filters[1].typedConfig.credentials, [{ key: REDACTED, client: REDACTED }]);
  assert.equal(filters[1].typedConfig.keySources, (listener.defaultFilterChain.filters[0]!.typedConfig as any).httpFilters[1].typedConfig.keySources);
  assert.equal(out.address, listener.address, 'untouched parts are the same objects');
  assert.equal(filters[2], (listener.defaultFilterChain.filters[0]!.typedConfig as any).httpFilters[2]);

  const plain = { name: 'plain', match: { prefix: '/' }, route: { cluster: 'c' } };
  const routeConfig = {
    name: 'rc',
    virtualHosts: [{
      name: 'vh',
      domains: ['*'],
      routes: [
        {
          name: 'secured',
          match: { prefix: '/s' },
          route: { cluster: 'c' },
          typedPerFilterConfig: {
            'envoy.filters.http.basic_auth/a': any('envoy.extensions.filters.http.basic_auth.v3.BasicAuthPerRoute', { users: { inlineString: 'bob:{SHA}abc' } }),
            'envoy.filters.http.ext_authz/x': any('envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute', { checkSettings: { contextExtensions: { tenant: 'acme-secret', zone: 'z1' } } }),
            'envoy.filters.http.api_key_auth/k': any('envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuthPerRoute', { credentials: [{ key: 'key-2', client: 'client-2' }], allowedClients: ['client-2'] }),
            'envoy.filters.http.credential_injector/c': any('envoy.config.route.v3.FilterConfig', { config: {} }),
          },
        },
        plain,
      ],
    }],
  };
  const rc = redactSensitive(TYPE_URL.route, routeConfig) as any;
  const per = rc.virtualHosts[0].routes[0].typedPerFilterConfig;
  assert.deepEqual(per['envoy.filters.http.basic_auth/a'].users, { inlineString: REDACTED });
  // A sensitive map keeps its keys; its values are redacted.
  assert.deepEqual(per['envoy.filters.http.ext_authz/x'].checkSettings.contextExtensions, { tenant: REDACTED, zone: REDACTED });
  assert.deepEqual(per['envoy.filters.http.api_key_auth/k'], any('envoy.extensions.filters.http.api_key_auth.v3.ApiKeyAuthPerRoute', { credentials: [{ key: REDACTED, client: REDACTED }], allowedClients: ['client-2'] }));
  assert.equal(rc.virtualHosts[0].routes[1], plain);
  assert.ok(!JSON.stringify(rc).includes('acme-secret') && !JSON.stringify(rc).includes('key-2'));
});

test('inside sensitive data everything is redacted: numbers, booleans and enums cleared, well-known types emptied', () => {
  // PrivateKeyProvider.typed_config is a sensitive Any: whatever it holds is redacted whole.
  const provider = (inner: object) => ({
    name: 's',
    tlsCertificate: { privateKeyProvider: { providerName: 'p', typedConfig: inner } },
  });
  const out = (inner: object) => (redactSensitive(SECRET, provider(inner)) as any).tlsCertificate.privateKeyProvider;
  const socket = out(any('envoy.config.core.v3.SocketAddress', { address: '10.0.0.1', portValue: 443, protocol: 'UDP', ipv4Compat: true }));
  assert.deepEqual(socket, { providerName: 'p', typedConfig: any('envoy.config.core.v3.SocketAddress', { address: REDACTED }) });
  const cluster = out(any('envoy.config.cluster.v3.Cluster', { name: 'c', connectTimeout: '5s', metadata: { filterMetadata: { m: { a: 'x', n: 1, l: ['y', true], o: { z: 'w' } } } }, dnsLookupFamily: 'V4_ONLY' }));
  assert.deepEqual(cluster.typedConfig, any('envoy.config.cluster.v3.Cluster', {
    name: REDACTED, connectTimeout: '0s', metadata: { filterMetadata: { m: { a: REDACTED, n: null, l: [REDACTED, null], o: { z: REDACTED } } } },
  }));
  const wrapped = out(any('google.protobuf.StringValue', { value: 'text' }));
  assert.deepEqual(wrapped.typedConfig, any('google.protobuf.StringValue', { value: REDACTED }));
  // An Any of a type nobody knows keeps only its type URL.
  assert.deepEqual(out({ '@type': 'type.googleapis.com/example.Unknown', token: 'T' }).typedConfig, { '@type': 'type.googleapis.com/example.Unknown' });
});

test('a TypedStruct is redacted as the message its type URL names; unknown types are left alone outside sensitive data', () => {
  const hcm: any = any(HCM, {
    statPrefix: 'http',
    httpFilters: [
      { name: 'ts', typedConfig: any('xds.type.v3.TypedStruct', { typeUrl: 'type.googleapis.com/envoy.extensions.filters.http.basic_auth.v3.BasicAuth', value: { users: { inline_string: 'carol:{SHA}def' }, forward_username_header: 'x-user' } }) },
      { name: 'unknown', typedConfig: { '@type': 'type.googleapis.com/example.Unknown', token: 'T' } },
    ],
  });
  const out = redactSensitive('google.protobuf.Any', hcm) as any;
  assert.deepEqual(out.httpFilters[0].typedConfig.value, { users: { inline_string: REDACTED }, forward_username_header: 'x-user' });
  assert.equal(out.httpFilters[1], hcm.httpFilters[1]);
});

test('recursive types (RBAC permissions, matchers) without secrets are walked past, and returned as they are', () => {
  const rbac = any('envoy.extensions.filters.http.rbac.v3.RBAC', {
    rules: { policies: { p: { permissions: [{ andRules: { rules: [{ orRules: { rules: [{ any: true }] } }] } }], principals: [{ any: true }] } } },
  });
  assert.equal(redactSensitive('google.protobuf.Any', rbac), rbac);
  const cluster = { name: 'c', type: 'EDS', edsClusterConfig: { edsConfig: { ads: {} } } };
  assert.equal(redactSensitive(TYPE_URL.cluster, cluster), cluster);
});

const KINDS: Array<[string, string]> = [['listeners', TYPE_URL.listener], ['routes', TYPE_URL.route], ['clusters', TYPE_URL.cluster], ['endpoints', TYPE_URL.endpoint], ['secrets', TYPE_URL.secret]];
const SENSITIVE_KEYS = new Set(['privateKey', 'password', 'pkcs12', 'users', 'credentials', 'contextExtensions', 'secret', 'keys']);

/** Paths where two JSON values differ. */
function differences(a: unknown, b: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (a === b) return out;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    out.push(path);
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) differences((a as any)[k], (b as any)[k], [...path, k], out);
  return out;
}

test('corpus: every expected xDS output, redacted, differs only inside sensitive fields, where nothing is left', { skip: corpusSuiteDir('xds') ? false : corpusSkipReason }, () => {
  const dir = corpusSuiteDir('xds')!;
  let redactions = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.expected.json')).sort()) {
    const expected = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown[]>;
    for (const [kind, typeUrl] of KINDS) {
      for (const resource of expected[kind] ?? []) {
        const before = JSON.stringify(resource);
        const shown = redactSensitive(typeUrl, resource);
        assert.equal(JSON.stringify(resource), before, `${file}: input changed`);
        for (const path of differences(resource, shown)) {
          const at = path.findIndex((k) => SENSITIVE_KEYS.has(k));
          assert.ok(at >= 0, `${file} ${kind}: ${path.join('.')} changed outside any sensitive field`);
          const leaf = path.reduce<any>((v, k) => v?.[k], shown);
          assert.ok(leaf === REDACTED || leaf === REDACTED_BYTES, `${file} ${kind}: ${path.join('.')} shows ${JSON.stringify(leaf)}`);
          redactions++;
        }
      }
    }
  }
  assert.ok(redactions > 10, `only ${redactions} values redacted over the corpus`);
});
