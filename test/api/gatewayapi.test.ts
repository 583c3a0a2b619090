// The Gateway API schemas: required fields, formats, bounds, unknown fields, and each of the
// CRDs' cross-field rules, one accepted and one rejected example each.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gatewayAPI, merge, problems } from './support.js';

const route = (spec: unknown) => ({ apiVersion: gatewayAPI, kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'default' }, spec });
const rule = (r: unknown) => route({ parentRefs: [{ name: 'gw' }], rules: [r] });
const gateway = (listeners: unknown[], extra: Record<string, unknown> = {}) => ({
  apiVersion: gatewayAPI,
  kind: 'Gateway',
  metadata: { name: 'gw', namespace: 'default' },
  spec: { gatewayClassName: 'eg', listeners, ...extra },
});
const http = { name: 'http', port: 80, protocol: 'HTTP' };
const svc = { name: 'svc', port: 8080 };

/** Asserts exactly one problem, at `field`, whose message contains `text`. */
function rejects(obj: unknown, field: string, text: string | RegExp): void {
  const ps = problems(obj);
  assert.equal(ps.length, 1, `expected one problem, got:\n${ps.join('\n')}`);
  const [f, ...m] = ps[0]!.split(': ');
  assert.equal(f, field, ps[0]);
  const message = m.join(': ');
  if (typeof text === 'string') assert.ok(message.includes(text), `${message} should mention ${text}`);
  else assert.match(message, text);
}
const accepts = (obj: unknown) => assert.deepEqual(problems(obj), []);

describe('envelope and registry', () => {
  it('accepts a minimal HTTPRoute', () => accepts(route({})));
  it('reports an unknown kind', () => rejects({ apiVersion: gatewayAPI, kind: 'FooRoute', metadata: { name: 'x' } }, 'kind', 'unknown kind FooRoute'));
  it('reports a kind in the wrong group', () => rejects({ apiVersion: 'v1', kind: 'HTTPRoute', metadata: { name: 'x' } }, 'apiVersion', 'gateway.networking.k8s.io'));
  it('reports a version that is not served', () => rejects({ ...route({}), apiVersion: 'gateway.networking.k8s.io/v2' }, 'apiVersion', 'not served'));
  it('accepts the served versions', () => {
    accepts({ ...route({}), apiVersion: 'gateway.networking.k8s.io/v1beta1' });
    accepts({ apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'GRPCRoute', metadata: { name: 'g' }, spec: {} });
  });
  it('reports unknown fields with their path', () => {
    rejects(route({ rules: [{ matches: [{ path: { value: '/' }, hedaers: [] }] }] }), 'spec.rules[0].matches[0].hedaers', 'unknown field');
    rejects({ ...route({}), metadata: { name: 'r', labelz: {} } }, 'metadata.labelz', 'unknown field');
  });
  it('reports a missing spec and a missing name', () => {
    rejects({ apiVersion: gatewayAPI, kind: 'HTTPRoute', metadata: { name: 'r' } }, 'spec', 'required');
    rejects(route({ parentRefs: [{ namespace: 'x' }] }), 'spec.parentRefs[0].name', 'required');
  });
  it('treats null fields as absent, like the API server', () => accepts(route({ hostnames: null, rules: [{ filters: null, backendRefs: [svc] }] })));
  it('reports wrong types', () => rejects(route({ hostnames: 'a.example.com' }), 'spec.hostnames', 'must be a list'));
});

describe('HTTPRoute', () => {
  it('bounds hostnames (16) and rules (16)', () => {
    const hosts = Array.from({ length: 17 }, (_, i) => `h${i}.example.com`);
    rejects(route({ hostnames: hosts }), 'spec.hostnames', 'at most 16');
    rejects(route({ rules: Array.from({ length: 17 }, () => ({})) }), 'spec.rules', 'at most 16');
  });
  it('checks hostname format (lowercase, optional leading wildcard label)', () => {
    accepts(route({ hostnames: ['*.example.com', 'foo.example.com'] }));
    rejects(route({ hostnames: ['Foo.example.com'] }), 'spec.hostnames[0]', 'hostname');
    rejects(route({ hostnames: ['foo.*.com'] }), 'spec.hostnames[0]', 'hostname');
    rejects(route({ hostnames: ['*'] }), 'spec.hostnames[0]', 'hostname');
  });
  it('rule names are unique', () => rejects(route({ rules: [{ name: 'a' }, { name: 'a' }] }), 'spec.rules[1].name', 'more than once'));
  it('at most 128 matches across rules', () => {
    const matches = Array.from({ length: 60 }, (_, i) => ({ path: { value: `/p${i}` } }));
    accepts(route({ rules: [{ matches }, { matches: matches.slice(0, 40) }] }));
    rejects(route({ rules: [{ matches }, { matches }, { matches: matches.slice(0, 9) }] }), 'spec.rules', '128');
  });
  it('path values of Exact and PathPrefix are absolute, normalised paths', () => {
    const path = (value: string, type = 'PathPrefix') => rule({ matches: [{ path: { type, value } }] });
    accepts(path('/foo/bar'));
    accepts(path('^/(foo|bar)$', 'RegularExpression'));
    for (const [value, text] of [
      ['foo', "starting with '/'"],
      ['/foo//bar', "'//'"],
      ['/foo/./bar', "'/./'"],
      ['/foo/../bar', "'/../'"],
      ['/foo%2fbar', "'%2f'"],
      ['/foo%2Fbar', "'%2F'"],
      ['/foo#bar', "'#'"],
      ['/foo/..', "end with '/..'"],
      ['/foo/.', "end with '/.'"],
      ['/foo bar', 'URL path characters'],
    ] as const) {
      const ps = problems(path(value, 'Exact'));
      assert.ok(ps.some((p) => p.startsWith('spec.rules[0].matches[0].path.value: ') && p.includes(text)), `${value}: ${ps.join('; ')}`);
    }
  });
  it('path type is an enum', () => rejects(rule({ matches: [{ path: { type: 'Prefix', value: '/' } }] }), 'spec.rules[0].matches[0].path.type', 'one of'));
  it('header and query parameter names are unique within a match', () => {
    rejects(rule({ matches: [{ headers: [{ name: 'x-a', value: '1' }, { name: 'x-a', value: '2' }] }] }), 'spec.rules[0].matches[0].headers[1].name', 'more than once');
    rejects(rule({ matches: [{ queryParams: [{ name: 'q', value: '1' }, { name: 'q', value: '2' }] }] }), 'spec.rules[0].matches[0].queryParams[1].name', 'more than once');
  });
  it('header names are RFC 7230 tokens', () => rejects(rule({ matches: [{ headers: [{ name: ':authority', value: 'x' }] }] }), 'spec.rules[0].matches[0].headers[0].name', 'header name'));
  it('method is an enum', () => rejects(rule({ matches: [{ method: 'FETCH' }] }), 'spec.rules[0].matches[0].method', 'one of'));
  it('a filter type needs its own field, and only that one', () => {
    rejects(rule({ filters: [{ type: 'RequestHeaderModifier' }] }), 'spec.rules[0].filters[0].requestHeaderModifier', 'required when type is RequestHeaderModifier');
    rejects(rule({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: {}, urlRewrite: {} }] }), 'spec.rules[0].filters[0].urlRewrite', 'only be set when type is URLRewrite');
    rejects(rule({ filters: [{ type: 'ExtensionRef' }] }), 'spec.rules[0].filters[0].extensionRef', 'required');
    rejects(rule({ filters: [{ type: 'CORS' }] }), 'spec.rules[0].filters[0].cors', 'required');
    rejects(rule({ filters: [{ type: 'ExternalAuth' }] }), 'spec.rules[0].filters[0].externalAuth', 'required');
    rejects(rule({ filters: [{ type: 'RequestMirror' }] }), 'spec.rules[0].filters[0].requestMirror', 'required');
  });
  it('RequestRedirect and URLRewrite are not used together', () => {
    rejects(
      rule({ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }, { type: 'URLRewrite', urlRewrite: { hostname: 'a.b' } }] }),
      'spec.rules[0].filters',
      'not be used together',
    );
  });
  it('core filters are not repeated; mirrors may be', () => {
    const mod = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'a', value: 'b' }] } };
    rejects(rule({ filters: [mod, mod] }), 'spec.rules[0].filters[1].type', 'may not be repeated');
    const mirror = { type: 'RequestMirror', requestMirror: { backendRef: svc } };
    accepts(rule({ filters: [mirror, mirror], backendRefs: [svc] }));
    rejects(rule({ filters: [{ type: 'CORS', cors: {} }, { type: 'CORS', cors: {} }] }), 'spec.rules[0].filters[1].type', 'may not be repeated');
  });
  it('a RequestRedirect filter excludes backendRefs', () => {
    rejects(rule({ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https' } }], backendRefs: [svc] }), 'spec.rules[0].filters', 'backendRefs');
  });
  it('ReplacePrefixMatch needs exactly one PathPrefix match (rule and backendRef filters)', () => {
    const rewrite = { type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } };
    accepts(rule({ matches: [{ path: { type: 'PathPrefix', value: '/old' } }], filters: [rewrite], backendRefs: [svc] }));
    accepts(rule({ filters: [rewrite], backendRefs: [svc] })); // the default match is PathPrefix '/'
    rejects(rule({ matches: [{ path: { type: 'Exact', value: '/old' } }], filters: [rewrite], backendRefs: [svc] }), 'spec.rules[0].matches', 'exactly one PathPrefix');
    const redirect = { type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } };
    rejects(rule({ matches: [{ path: { value: '/a' } }, { path: { value: '/b' } }], filters: [redirect] }), 'spec.rules[0].matches', 'RequestRedirect');
    rejects(
      rule({ matches: [{ path: { type: 'Exact', value: '/a' } }], backendRefs: [{ ...svc, filters: [rewrite] }] }),
      'spec.rules[0].matches',
      'in backendRefs',
    );
  });
  it('path modifiers carry the field their type names', () => {
    const rw = (path: unknown) => rule({ filters: [{ type: 'URLRewrite', urlRewrite: { path } }], backendRefs: [svc] });
    rejects(rw({ type: 'ReplaceFullPath' }), 'spec.rules[0].filters[0].urlRewrite.path.replaceFullPath', 'required');
    rejects(rw({ type: 'ReplaceFullPath', replaceFullPath: '/a', replacePrefixMatch: '/b' }), 'spec.rules[0].filters[0].urlRewrite.path.type', 'replacePrefixMatch');
    rejects(rw({ type: 'ReplacePrefixMatch', replacePrefixMatch: '/a', replaceFullPath: '/b' }), 'spec.rules[0].filters[0].urlRewrite.path.type', 'replaceFullPath');
  });
  it('header modifiers name each header once', () => {
    const mod = (m: unknown) => rule({ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: m }], backendRefs: [svc] });
    rejects(mod({ set: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }), 'spec.rules[0].filters[0].responseHeaderModifier.set[1].name', 'more than once');
    rejects(mod({ add: [{ name: 'a', value: '1' }, { name: 'a', value: '2' }] }), 'spec.rules[0].filters[0].responseHeaderModifier.add[1].name', 'more than once');
    rejects(mod({ remove: ['a', 'a'] }), 'spec.rules[0].filters[0].responseHeaderModifier.remove[1]', 'more than once');
    rejects(mod({ set: [{ name: 'a', value: '' }] }), 'spec.rules[0].filters[0].responseHeaderModifier.set[0].value', 'at least 1');
  });
  it('redirect status codes are 301, 302, 303, 307 or 308', () => {
    rejects(rule({ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 404 } }] }), 'spec.rules[0].filters[0].requestRedirect.statusCode', '301');
  });
  it('mirrors take a percent or a fraction, not both; numerator <= denominator', () => {
    const mirror = (m: unknown) => rule({ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: svc, ...(m as object) } }], backendRefs: [svc] });
    accepts(mirror({ fraction: { numerator: 1, denominator: 3 } }));
    rejects(mirror({ percent: 10, fraction: { numerator: 1 } }), 'spec.rules[0].filters[0].requestMirror.fraction', 'not both');
    rejects(mirror({ fraction: { numerator: 5, denominator: 3 } }), 'spec.rules[0].filters[0].requestMirror.fraction.numerator', 'exceed');
    rejects(mirror({ percent: 101 }), 'spec.rules[0].filters[0].requestMirror.percent', '<= 100');
  });
  it('CORS: "*" stands alone in allowMethods, origins are "*" or scheme://host[:port]', () => {
    const cors = (c: unknown) => rule({ filters: [{ type: 'CORS', cors: c }], backendRefs: [svc] });
    accepts(cors({ allowOrigins: ['https://foo.example.com:8443', 'https://*.example.com'], allowMethods: ['*'] }));
    accepts(cors({ allowOrigins: ['*'] }));
    rejects(cors({ allowMethods: ['GET', '*'] }), 'spec.rules[0].filters[0].cors.allowMethods', '"*"');
    rejects(cors({ allowOrigins: ['*', 'https://a.example.com'] }), 'spec.rules[0].filters[0].cors.allowOrigins', '"*"');
    rejects(cors({ allowHeaders: ['*', 'x-a'] }), 'spec.rules[0].filters[0].cors.allowHeaders', '"*"');
    accepts(cors({ exposeHeaders: ['*', 'x-a'] }));
    rejects(cors({ allowOrigins: ['foo.example.com'] }), 'spec.rules[0].filters[0].cors.allowOrigins[0]', 'origin');
  });
  it('ExternalAuth: the protocol names its settings', () => {
    const auth = (a: unknown) => rule({ filters: [{ type: 'ExternalAuth', externalAuth: { backendRef: svc, ...(a as object) } }], backendRefs: [svc] });
    accepts(auth({ protocol: 'GRPC', grpc: {} }));
    rejects(auth({ protocol: 'GRPC' }), 'spec.rules[0].filters[0].externalAuth.grpc', 'required');
    rejects(auth({ protocol: 'GRPC', grpc: {}, http: {} }), 'spec.rules[0].filters[0].externalAuth.protocol', 'HTTP');
  });
  it('a Service backend needs a port; other kinds need not', () => {
    rejects(rule({ backendRefs: [{ name: 'svc' }] }), 'spec.rules[0].backendRefs[0].port', 'port is required');
    accepts(rule({ backendRefs: [{ group: 'gateway.envoyproxy.io', kind: 'Backend', name: 'b' }] }));
    rejects(rule({ backendRefs: [{ ...svc, weight: 1_000_001 }] }), 'spec.rules[0].backendRefs[0].weight', '<= 1000000');
  });
  it('backendRequest timeout does not exceed the request timeout (unless that is 0s)', () => {
    accepts(rule({ timeouts: { request: '10s', backendRequest: '5s' } }));
    accepts(rule({ timeouts: { request: '0s', backendRequest: '5s' } }));
    rejects(rule({ timeouts: { request: '1s', backendRequest: '1m' } }), 'spec.rules[0].timeouts.backendRequest', 'longer');
    rejects(rule({ timeouts: { request: '10 s' } }), 'spec.rules[0].timeouts.request', 'duration');
  });
  it('retry codes are 400-599', () => rejects(rule({ retry: { codes: [503, 200] } }), 'spec.rules[0].retry.codes[1]', '>= 400'));
  it('session persistence: a permanent cookie needs an absolute timeout', () => {
    accepts(rule({ sessionPersistence: { type: 'Cookie', absoluteTimeout: '1h', cookieConfig: { lifetimeType: 'Permanent' } } }));
    rejects(rule({ sessionPersistence: { cookieConfig: { lifetimeType: 'Permanent' } } }), 'spec.rules[0].sessionPersistence.absoluteTimeout', 'Permanent');
  });
  it('parentRefs naming one parent twice differ by sectionName or port', () => {
    accepts(route({ parentRefs: [{ name: 'gw', sectionName: 'a' }, { name: 'gw', sectionName: 'b' }] }));
    rejects(route({ parentRefs: [{ name: 'gw' }, { name: 'gw', sectionName: 'b' }] }), 'spec.parentRefs[0]', 'sectionName or port');
    rejects(route({ parentRefs: [{ name: 'gw', sectionName: 'a' }, { name: 'gw', sectionName: 'a' }] }), 'spec.parentRefs[1]', 'unique');
    rejects(route({ parentRefs: [{ name: 'gw', port: 0 }] }), 'spec.parentRefs[0].port', '>= 1');
  });
});

describe('Gateway and GatewayClass', () => {
  it('accepts a typical gateway', () =>
    accepts(
      gateway([http, { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.example.com', tls: { certificateRefs: [{ name: 'cert' }] } }], {
        addresses: [{ value: '10.0.0.1' }, { type: 'Hostname', value: 'lb.example.com' }],
      }),
    ));
  it('needs at least one listener, at most 64', () => {
    rejects(gateway([]), 'spec.listeners', 'at least 1');
    rejects(gateway(Array.from({ length: 65 }, (_, i) => ({ ...http, name: `l${i}`, port: 1000 + i }))), 'spec.listeners', 'at most 64');
  });
  it('listener names are unique', () => rejects(gateway([http, { ...http, port: 81 }]), 'spec.listeners[1].name', 'more than once'));
  it('port, protocol and hostname combinations are unique', () => rejects(gateway([http, { ...http, name: 'other' }]), 'spec.listeners[1]', 'unique'));
  it('tls is not set for HTTP, TCP or UDP', () => rejects(gateway([{ ...http, tls: { certificateRefs: [{ name: 'c' }] } }]), 'spec.listeners[0].tls', 'HTTP'));
  it('tls is required for TLS listeners; HTTPS terminates', () => {
    rejects(gateway([{ name: 'tls', port: 443, protocol: 'TLS' }]), 'spec.listeners[0].tls', 'required');
    accepts(gateway([{ name: 'tls', port: 443, protocol: 'TLS', tls: { mode: 'Passthrough' } }]));
    rejects(gateway([{ name: 'https', port: 443, protocol: 'HTTPS', tls: { mode: 'Passthrough' } }]), 'spec.listeners[0].tls.mode', 'Terminate');
  });
  it('Terminate needs certificateRefs or options', () => {
    rejects(gateway([{ name: 'https', port: 443, protocol: 'HTTPS', tls: { mode: 'Terminate' } }]), 'spec.listeners[0].tls.certificateRefs', 'certificateRefs or options');
    accepts(gateway([{ name: 'https', port: 443, protocol: 'HTTPS', tls: { options: { 'example.com/cert': 'x' } } }]));
  });
  it('hostname is not set for TCP and UDP', () => {
    rejects(gateway([{ name: 'tcp', port: 90, protocol: 'TCP', hostname: 'a.example.com' }]), 'spec.listeners[0].hostname', 'TCP');
    rejects(gateway([{ name: 'udp', port: 90, protocol: 'UDP', hostname: 'a.example.com' }]), 'spec.listeners[0].hostname', 'UDP');
  });
  it('listener port and protocol formats', () => {
    rejects(gateway([{ ...http, port: 70000 }]), 'spec.listeners[0].port', '<= 65535');
    rejects(gateway([{ ...http, protocol: 'example.com' }]), 'spec.listeners[0].protocol', 'protocol');
    accepts(gateway([{ ...http, protocol: 'example.com/custom' }]));
  });
  it('allowedRoutes: namespaces.from is an enum; kinds at most 8', () => {
    rejects(gateway([{ ...http, allowedRoutes: { namespaces: { from: 'None' } } }]), 'spec.listeners[0].allowedRoutes.namespaces.from', 'one of');
    rejects(gateway([{ ...http, allowedRoutes: { kinds: Array.from({ length: 9 }, () => ({ kind: 'HTTPRoute' })) } }]), 'spec.listeners[0].allowedRoutes.kinds', 'at most 8');
  });
  it('addresses: IPs are IPs, and values are unique per type', () => {
    rejects(gateway([http], { addresses: [{ type: 'IPAddress', value: 'not-an-ip' }] }), 'spec.addresses[0].value', 'IP address');
    rejects(gateway([http], { addresses: [{ value: '10.0.0.1' }, { value: '10.0.0.1' }] }), 'spec.addresses[1].value', 'more than once');
    rejects(gateway([http], { addresses: [{ type: 'Hostname', value: 'A.example.com' }] }), 'spec.addresses[0].value', 'hostname');
    accepts(gateway([http], { addresses: [{ type: 'IPAddress', value: '2001:db8::1' }, { type: 'NamedAddress', value: 'my-address' }] }));
  });
  it('infrastructure labels and annotations are bounded and well-formed', () => {
    const labels = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`l${i}`, 'v']));
    rejects(gateway([http], { infrastructure: { labels } }), 'spec.infrastructure.labels', 'at most 8');
    rejects(gateway([http], { infrastructure: { labels: { 'bad key!': 'v' } } }), 'spec.infrastructure.labels.bad key!', 'label key');
  });
  it('frontend TLS: per-port settings are unique per port; CA refs required', () => {
    const tls = (perPort: unknown) => gateway([http], { tls: { frontend: { default: {}, perPort } } });
    accepts(tls([{ port: 443, tls: { validation: { caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }] } } }]));
    rejects(tls([{ port: 443, tls: {} }, { port: 443, tls: {} }]), 'spec.tls.frontend.perPort[1].port', 'more than one');
    rejects(tls([{ port: 443, tls: { validation: { caCertificateRefs: [] } } }]), 'spec.tls.frontend.perPort[0].tls.validation.caCertificateRefs', 'at least 1');
  });
  it('GatewayClass: controllerName is domain/path', () => {
    const gc = (spec: unknown) => ({ apiVersion: gatewayAPI, kind: 'GatewayClass', metadata: { name: 'eg' }, spec });
    accepts(gc({ controllerName: 'gateway.envoyproxy.io/gatewayclass-controller', parametersRef: { group: 'gateway.envoyproxy.io', kind: 'EnvoyProxy', name: 'p', namespace: 'ns' } }));
    rejects(gc({ controllerName: 'no-path' }), 'spec.controllerName', 'domain-prefixed');
    rejects(gc({ controllerName: 'a.io/b', description: 'x'.repeat(65) }), 'spec.description', 'at most 64');
  });
  it('accepts a written status', () =>
    accepts(
      merge(gateway([http]), {
        status: {
          addresses: [{ type: 'IPAddress', value: '1.2.3.4' }],
          conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'ok', lastTransitionTime: null }],
          listeners: [{ name: 'http', attachedRoutes: 1, supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }], conditions: [] }],
        },
      }),
    ));
});

describe('ListenerSet', () => {
  const ls = (listeners: unknown[], kind = 'ListenerSet', apiVersion = gatewayAPI) => ({
    apiVersion,
    kind,
    metadata: { name: 'ls', namespace: 'default' },
    spec: { parentRef: { name: 'gw' }, listeners },
  });
  it('is accepted as ListenerSet (v1) and XListenerSet (x-k8s.io)', () => {
    accepts(ls([http]));
    accepts(ls([http], 'XListenerSet', 'gateway.networking.x-k8s.io/v1alpha1'));
  });
  it('follows the listener rules of Gateways', () => {
    rejects(ls([http, { ...http, port: 81 }]), 'spec.listeners[1].name', 'more than once');
    rejects(ls([{ name: 'tcp', port: 90, protocol: 'TCP', hostname: 'a.example.com' }]), 'spec.listeners[0].hostname', 'TCP');
    rejects(ls([]), 'spec.listeners', 'at least 1');
    rejects(ls([http, { ...http, name: 'other', protocol: 'http' }]), 'spec.listeners[1]', 'unique');
    accepts(gateway([http, { ...http, name: 'other', protocol: 'http' }]));
  });
});

describe('GRPCRoute', () => {
  const grpc = (rules: unknown[]) => ({ apiVersion: gatewayAPI, kind: 'GRPCRoute', metadata: { name: 'g', namespace: 'default' }, spec: { rules } });
  it('method matches name a service or a method, in gRPC syntax when Exact', () => {
    accepts(grpc([{ matches: [{ method: { service: 'pkg.v1.Service', method: 'Get' } }], backendRefs: [svc] }]));
    accepts(grpc([{ matches: [{ method: { type: 'RegularExpression', service: 'pkg\\..*' } }] }]));
    rejects(grpc([{ matches: [{ method: { type: 'Exact' } }] }]), 'spec.rules[0].matches[0].method', 'service or method');
    rejects(grpc([{ matches: [{ method: { service: 'pkg/Service' } }] }]), 'spec.rules[0].matches[0].method.service', 'gRPC service');
    rejects(grpc([{ matches: [{ method: { method: 'Get.All' } }] }]), 'spec.rules[0].matches[0].method.method', 'gRPC method');
  });
  it('header modifiers are not repeated; filter fields follow their type', () => {
    const mod = { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'a', value: 'b' }] } };
    rejects(grpc([{ filters: [mod, mod] }]), 'spec.rules[0].filters[1].type', 'may not be repeated');
    rejects(grpc([{ filters: [{ type: 'URLRewrite' }] }]), 'spec.rules[0].filters[0].type', 'one of');
  });
  it('rule names are unique', () => rejects(grpc([{ name: 'a' }, { name: 'a' }]), 'spec.rules[1].name', 'more than once'));
});

describe('TLSRoute, TCPRoute, UDPRoute', () => {
  const r = (kind: string, spec: unknown, version = 'v1alpha2') => ({ apiVersion: `gateway.networking.k8s.io/${version}`, kind, metadata: { name: 'r', namespace: 'default' }, spec });
  it('need at least one rule with at least one backend', () => {
    accepts(r('TCPRoute', { rules: [{ backendRefs: [svc] }] }));
    accepts(r('TLSRoute', { hostnames: ['a.example.com'], rules: [{ backendRefs: [svc] }] }, 'v1alpha3'));
    rejects(r('UDPRoute', { rules: [] }), 'spec.rules', 'at least 1');
    rejects(r('TCPRoute', { rules: [{ backendRefs: [] }] }), 'spec.rules[0].backendRefs', 'at least 1');
    rejects(r('TCPRoute', {}), 'spec.rules', 'required');
  });
  it('TLSRoute hostnames are hostnames', () => rejects(r('TLSRoute', { hostnames: ['1.2.3.4:443'], rules: [{ backendRefs: [svc] }] }), 'spec.hostnames[0]', 'hostname'));
});

describe('ReferenceGrant', () => {
  const rg = (spec: unknown) => ({ apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: 'g', namespace: 'ns' }, spec });
  it('needs from and to entries', () => {
    accepts(rg({ from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'default' }], to: [{ group: '', kind: 'Service' }] }));
    rejects(rg({ from: [], to: [{ group: '', kind: 'Service' }] }), 'spec.from', 'at least 1');
    rejects(rg({ from: [{ group: '', kind: 'Gateway' }], to: [{ group: '', kind: 'Secret' }] }), 'spec.from[0].namespace', 'required');
  });
});

describe('BackendTLSPolicy', () => {
  const policy = (spec: unknown) => ({ apiVersion: gatewayAPI, kind: 'BackendTLSPolicy', metadata: { name: 'p', namespace: 'default' }, spec });
  const target = { group: '', kind: 'Service', name: 'svc' };
  it('validation takes CA refs or the system CAs, exactly one of them', () => {
    accepts(policy({ targetRefs: [target], validation: { hostname: 'svc.example.com', wellKnownCACertificates: 'System' } }));
    accepts(policy({ targetRefs: [target], validation: { hostname: 'svc.example.com', caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }] } }));
    rejects(policy({ targetRefs: [target], validation: { hostname: 'svc.example.com' } }), 'spec.validation.caCertificateRefs', 'required');
    rejects(
      policy({ targetRefs: [target], validation: { hostname: 'svc.example.com', wellKnownCACertificates: 'System', caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'ca' }] } }),
      'spec.validation.wellKnownCACertificates',
      'not both',
    );
  });
  it('subjectAltNames carry the field their type names', () => {
    const san = (s: unknown) => policy({ targetRefs: [target], validation: { hostname: 'a.b', wellKnownCACertificates: 'System', subjectAltNames: [s] } });
    accepts(san({ type: 'URI', uri: 'spiffe://cluster.local/ns/default/sa/svc' }));
    rejects(san({ type: 'Hostname' }), 'spec.validation.subjectAltNames[0].hostname', 'required');
    rejects(san({ type: 'URI', hostname: 'a.b', uri: 'spiffe://x/y' }), 'spec.validation.subjectAltNames[0].hostname', 'only be set');
  });
  it('targetRefs naming one target twice differ by sectionName', () => {
    accepts(policy({ targetRefs: [{ ...target, sectionName: 'a' }, { ...target, sectionName: 'b' }], validation: { hostname: 'a.b', wellKnownCACertificates: 'System' } }));
    rejects(policy({ targetRefs: [target, target], validation: { hostname: 'a.b', wellKnownCACertificates: 'System' } }), 'spec.targetRefs[1]', 'sectionName');
  });
});
