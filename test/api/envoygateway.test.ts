// The Envoy Gateway and core schemas: each cross-field rule with one accepted and one
// rejected example; unknown fields; Go-style field names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withGoFieldNames } from '../../src/api/fieldnames.js';
import { problems } from './support.js';

const eg = 'gateway.envoyproxy.io/v1alpha1';
const obj = (kind: string, spec: unknown, apiVersion = eg) => ({ apiVersion, kind, metadata: { name: 'x', namespace: 'default' }, spec });
const target = { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' };
const btp = (spec: Record<string, unknown>) => obj('BackendTrafficPolicy', { targetRefs: [target], ...spec });
const ctp = (spec: Record<string, unknown>) => obj('ClientTrafficPolicy', { targetRefs: [target], ...spec });
const sp = (spec: Record<string, unknown>) => obj('SecurityPolicy', { targetRefs: [target], ...spec });
const eep = (spec: Record<string, unknown>) => obj('EnvoyExtensionPolicy', { targetRefs: [target], ...spec });
const svc = { name: 'svc', port: 8080 };

function rejects(o: unknown, field: string, text: string): void {
  const ps = problems(o);
  assert.ok(ps.some((p) => p.startsWith(`${field}: `) && p.includes(text)), `expected ${field}: …${text}…, got:\n${ps.join('\n')}`);
}
const accepts = (o: unknown) => assert.deepEqual(problems(o), []);

describe('policy targets', () => {
  it('targetRef or targetRefs (not both), or targetSelectors', () => {
    accepts(obj('BackendTrafficPolicy', { targetRef: target }));
    accepts(obj('BackendTrafficPolicy', { targetSelectors: [{ kind: 'HTTPRoute', matchLabels: { app: 'a' } }] }));
    rejects(obj('BackendTrafficPolicy', {}), 'spec.targetRefs', 'required');
    rejects(obj('BackendTrafficPolicy', { targetRef: target, targetRefs: [target] }), 'spec.targetRefs', 'not both');
  });
  it('reports unknown fields in policies', () => rejects(btp({ retries: {} }), 'spec.retries', 'unknown field'));
});

describe('BackendTrafficPolicy', () => {
  it('consistentHash goes with type ConsistentHash, and names its source', () => {
    accepts(btp({ loadBalancer: { type: 'ConsistentHash', consistentHash: { type: 'Header', header: { name: 'x' } } } }));
    rejects(btp({ loadBalancer: { type: 'ConsistentHash' } }), 'spec.loadBalancer.consistentHash', 'required');
    rejects(btp({ loadBalancer: { type: 'Random', consistentHash: { type: 'SourceIP' } } }), 'spec.loadBalancer.consistentHash', 'only be set');
    rejects(btp({ loadBalancer: { type: 'ConsistentHash', consistentHash: { type: 'Cookie' } } }), 'spec.loadBalancer.consistentHash.cookie', 'required');
    rejects(btp({ loadBalancer: { type: 'ConsistentHash', consistentHash: { type: 'SourceIP', tableSize: 5000012 } } }), 'spec.loadBalancer.consistentHash.tableSize', '<= 5000011');
    rejects(btp({ loadBalancer: { type: 'Random', slowStart: { window: '10s' } } }), 'spec.loadBalancer.slowStart', 'RoundRobin');
  });
  it('health checks carry the settings of their type; payloads the field of theirs', () => {
    accepts(btp({ healthCheck: { active: { type: 'TCP', tcp: { send: { type: 'Text', text: 'ping' } } } } }));
    rejects(btp({ healthCheck: { active: { type: 'HTTP' } } }), 'spec.healthCheck.active.http', 'required');
    rejects(btp({ healthCheck: { active: { type: 'TCP', http: { path: '/' } } } }), 'spec.healthCheck.active.http', 'only be set');
    rejects(btp({ healthCheck: { active: { type: 'TCP', tcp: { send: { type: 'Binary', text: 'x' } } } } }), 'spec.healthCheck.active.tcp.send.binary', 'required');
  });
  it('fault injection: delay or abort; an abort has one status', () => {
    rejects(btp({ faultInjection: {} }), 'spec.faultInjection', 'delay or abort');
    rejects(btp({ faultInjection: { abort: { httpStatus: 503, grpcStatus: 14 } } }), 'spec.faultInjection.abort.grpcStatus', 'not both');
    rejects(btp({ faultInjection: { abort: { httpStatus: 14 } } }), 'spec.faultInjection.abort.httpStatus', '>= 200');
  });
  it('rate limits: the type names its block; Distinct takes no value or invert', () => {
    const rule = (headers: unknown[]) => ({ clientSelectors: [{ headers }], limit: { requests: 10, unit: 'Minute' } });
    accepts(btp({ rateLimit: { type: 'Global', global: { rules: [rule([{ type: 'Distinct', name: 'x-user' }])] } } }));
    rejects(btp({ rateLimit: { type: 'Global' } }), 'spec.rateLimit.global', 'required');
    rejects(btp({ rateLimit: { global: { rules: [rule([{ type: 'Distinct', name: 'x', invert: true }])] } } }), 'spec.rateLimit.global.rules[0].clientSelectors[0].headers[0].invert', 'Distinct');
    rejects(btp({ rateLimit: { global: { rules: [rule([{ type: 'Exact', name: 'x' }])] } } }), 'spec.rateLimit.global.rules[0].clientSelectors[0].headers[0].value', 'required');
    rejects(btp({ rateLimit: { global: { rules: [{ limit: { unit: 'Hour' } }] } } }), 'spec.rateLimit.global.rules[0].limit.requests', 'required');
    rejects(btp({ rateLimit: { local: { rules: [{ limit: { requests: 1, unit: 'Hour' }, cost: { response: { from: 'Number', number: 1 } } }] } } }), 'spec.rateLimit.local.rules[0].cost.response', 'response costs');
    rejects(btp({ rateLimit: { global: { rules: [{ limit: { requests: 1, unit: 'Hour' }, cost: { request: { from: 'Metadata' } } }] } } }), 'spec.rateLimit.global.rules[0].cost.request.metadata', 'required');
    rejects(btp({ rateLimit: { global: { rules: [rule([]).clientSelectors && { ...rule([]), clientSelectors: [{ sourceCIDR: { value: '10.0.0.0/33' } }] }] } } }), 'spec.rateLimit.global.rules[0].clientSelectors[0].sourceCIDR.value', 'CIDR');
  });
  it('response overrides: match something; response or redirect', () => {
    accepts(btp({ responseOverride: [{ match: { statusCodes: [{ type: 'Range', range: { start: 500, end: 504 } }] }, response: { statusCode: 503 } }] }));
    rejects(btp({ responseOverride: [{ match: {}, response: {} }] }), 'spec.responseOverride[0].match.statusCodes', 'required');
    rejects(btp({ responseOverride: [{ match: { statusCodes: [{ type: 'Range' }] } }] }), 'spec.responseOverride[0].match.statusCodes[0].range', 'required');
    rejects(btp({ responseOverride: [{ match: { statusCodes: [{ value: 404 }] }, response: {}, redirect: {} }] }), 'spec.responseOverride[0].redirect', 'not both');
  });
  it('durations and quantities', () => {
    accepts(btp({ timeout: { tcp: { connectTimeout: '1.5s' } }, connection: { bufferLimit: '32Ki' }, requestBuffer: { limit: '4Mi' } }));
    rejects(btp({ timeout: { http: { requestTimeout: '10sec' } } }), 'spec.timeout.http.requestTimeout', 'duration');
    rejects(btp({ connection: { bufferLimit: '1 MB' } }), 'spec.connection.bufferLimit', 'quantity');
  });
  it('compressor and the deprecated compression are not both set', () =>
    rejects(btp({ compression: [{ type: 'Gzip' }], compressor: [{ type: 'Gzip' }] }), 'spec.compressor', 'not both'));
});

describe('ClientTrafficPolicy', () => {
  it('client IP detection: one method; XFF hops or CIDRs', () => {
    accepts(ctp({ clientIPDetection: { xForwardedFor: { trustedCIDRs: ['10.0.0.0/8'] } } }));
    rejects(ctp({ clientIPDetection: { xForwardedFor: { numTrustedHops: 1 }, customHeader: { name: 'x-ip' } } }), 'spec.clientIPDetection.customHeader', 'xForwardedFor');
    rejects(ctp({ clientIPDetection: { xForwardedFor: { numTrustedHops: 1, trustedCIDRs: ['10.0.0.0/8'] } } }), 'spec.clientIPDetection.xForwardedFor.trustedCIDRs', 'not both');
    rejects(ctp({ clientIPDetection: { xForwardedFor: { trustedCIDRs: ['10.0.0.0'] } } }), 'spec.clientIPDetection.xForwardedFor.trustedCIDRs[0]', 'CIDR');
  });
  it('TLS versions are ordered and enumerated', () => {
    accepts(ctp({ tls: { minVersion: '1.2', maxVersion: '1.3', alpnProtocols: ['h2'] } }));
    rejects(ctp({ tls: { minVersion: '1.3', maxVersion: '1.2' } }), 'spec.tls.minVersion', 'above');
    rejects(ctp({ tls: { minVersion: 'tls1.2' } }), 'spec.tls.minVersion', 'one of');
  });
  it('edge header names are header names', () => rejects(ctp({ headers: { earlyRequestHeaders: { set: [{ name: 'a:b', value: 'x' }] } } }), 'spec.headers.earlyRequestHeaders.set[0].name', 'header name'));
});

describe('SecurityPolicy', () => {
  const jwks = { uri: 'https://example.com/jwks.json' };
  it('JWT providers: one JWKS source; at most 4 providers', () => {
    accepts(sp({ jwt: { providers: [{ name: 'a', remoteJWKS: jwks }] } }));
    rejects(sp({ jwt: { providers: [{ name: 'a' }] } }), 'spec.jwt.providers[0].remoteJWKS', 'required');
    rejects(sp({ jwt: { providers: [{ name: 'a', remoteJWKS: jwks, localJWKS: { inline: '{}' } }] } }), 'spec.jwt.providers[0].localJWKS', 'not both');
    rejects(sp({ jwt: { providers: Array.from({ length: 5 }, (_, i) => ({ name: `p${i}`, remoteJWKS: jwks })) } }), 'spec.jwt.providers', 'at most 4');
  });
  it('OIDC: clientID or clientIDRef', () => {
    const oidc = { provider: { issuer: 'https://id.example.com' }, clientSecret: { name: 's' } };
    accepts(sp({ oidc: { ...oidc, clientID: 'c' } }));
    rejects(sp({ oidc }), 'spec.oidc.clientID', 'required');
    rejects(sp({ oidc: { ...oidc, clientID: 'c', clientIDRef: { name: 'c' } } }), 'spec.oidc.clientIDRef', 'not both');
  });
  it('external auth: grpc or http; backendRefs reach Services, ServiceImports, Backends', () => {
    accepts(sp({ extAuth: { grpc: { backendRefs: [svc] } } }));
    rejects(sp({ extAuth: {} }), 'spec.extAuth.grpc', 'required');
    rejects(sp({ extAuth: { grpc: { backendRefs: [svc] }, http: { backendRefs: [svc] } } }), 'spec.extAuth.http', 'not both');
    rejects(sp({ extAuth: { http: { backendRefs: [{ group: 'example.com', kind: 'Thing', name: 't' }] } } }), 'spec.extAuth.http.backendRefs[0].group', 'group must be');
    rejects(sp({ extAuth: { http: { backendRefs: [{ name: 'svc' }] } } }), 'spec.extAuth.http.backendRefs[0].port', 'port is required');
  });
  it('authorization rules need a principal', () => {
    accepts(sp({ authorization: { rules: [{ action: 'Allow', principal: { clientCIDRs: ['10.0.0.0/8'] } }] } }));
    rejects(sp({ authorization: { rules: [{ action: 'Allow', principal: {} }] } }), 'spec.authorization.rules[0].principal', 'at least one');
    rejects(sp({ authorization: { rules: [{ action: 'Allow', principal: { jwt: { provider: 'a' } } }] } }), 'spec.authorization.rules[0].principal.jwt', 'scopes or claims');
  });
  it('CORS origins are origins', () => {
    accepts(sp({ cors: { allowOrigins: ['https://*.example.com:8443', '*'] } }));
    rejects(sp({ cors: { allowOrigins: ['example.com'] } }), 'spec.cors.allowOrigins[0]', 'origin');
  });
});

describe('EnvoyExtensionPolicy', () => {
  it('Wasm code names the source its type says', () => {
    accepts(eep({ wasm: [{ code: { type: 'HTTP', http: { url: 'https://example.com/f.wasm' } } }] }));
    rejects(eep({ wasm: [{ code: { type: 'Image', http: { url: 'https://example.com/f.wasm' } } }] }), 'spec.wasm[0].code.image', 'required');
    rejects(eep({ wasm: [{ code: { type: 'HTTP', http: { url: 'u', sha256: 'abc' } } }] }), 'spec.wasm[0].code.http.sha256', 'hex');
  });
  it('Lua is inline or a reference, per its type', () => {
    accepts(eep({ lua: [{ type: 'Inline', inline: 'function envoy_on_request(h) end' }] }));
    rejects(eep({ lua: [{ type: 'ValueRef' }] }), 'spec.lua[0].valueRef', 'required');
    rejects(eep({ lua: [{ type: 'Inline', inline: 'x', valueRef: { group: '', kind: 'ConfigMap', name: 'c' } }] }), 'spec.lua[0].valueRef', 'only be set');
  });
  it('external processors: backendRefs and processing modes', () => {
    accepts(eep({ extProc: [{ backendRefs: [svc], processingMode: { request: { body: 'Buffered' } } }] }));
    rejects(eep({ extProc: [{ backendRefs: [svc], processingMode: { request: { body: 'Chunked' } } }] }), 'spec.extProc[0].processingMode.request.body', 'one of');
  });
});

describe('EnvoyProxy', () => {
  const ep = (spec: unknown) => obj('EnvoyProxy', spec);
  it('one of Deployment or DaemonSet; no HPA with a DaemonSet', () => {
    accepts(ep({ provider: { type: 'Kubernetes', kubernetes: { envoyDeployment: { replicas: 2 }, envoyHpa: { maxReplicas: 4 } } } }));
    rejects(ep({ provider: { type: 'Kubernetes', kubernetes: { envoyDeployment: {}, envoyDaemonSet: {} } } }), 'spec.provider.kubernetes.envoyDaemonSet', 'not both');
    rejects(ep({ provider: { type: 'Kubernetes', kubernetes: { envoyDaemonSet: {}, envoyHpa: { maxReplicas: 2 } } } }), 'spec.provider.kubernetes.envoyHpa', 'DaemonSet');
    rejects(ep({ provider: { type: 'Kubernetes', kubernetes: { envoyHpa: { minReplicas: 3, maxReplicas: 2 } } } }), 'spec.provider.kubernetes.envoyHpa.maxReplicas', 'below');
    rejects(ep({ provider: { type: 'Kubernetes', kubernetes: { envoyDeployment: { container: { image: 'a', imageRepository: 'b' } } } } }), 'spec.provider.kubernetes.envoyDeployment.container.imageRepository', 'not both');
    rejects(ep({ provider: { type: 'Kubernetes', kubernetes: { envoyService: { type: 'ClusterIP', loadBalancerClass: 'x' } } } }), 'spec.provider.kubernetes.envoyService.loadBalancerClass', 'LoadBalancer');
    rejects(ep({ provider: { type: 'Kubernetes', kubernetes: { envoyPDB: { minAvailable: 1, maxUnavailable: 1 } } } }), 'spec.provider.kubernetes.envoyPDB.maxUnavailable', 'not both');
  });
  it('filter positions name before or after, not both', () => {
    accepts(ep({ filterOrder: [{ name: 'envoy.filters.http.wasm', before: 'envoy.filters.http.jwt_authn' }] }));
    rejects(ep({ filterOrder: [{ name: 'envoy.filters.http.wasm' }] }), 'spec.filterOrder[0].before', 'required');
    rejects(ep({ filterOrder: [{ name: 'envoy.filters.http.wasm', before: 'envoy.filters.http.cors', after: 'envoy.filters.http.cors' }] }), 'spec.filterOrder[0].after', 'not both');
  });
  it('bootstrap: value for Merge/Replace, jsonPatches for JSONPatch', () => {
    accepts(ep({ bootstrap: { type: 'JSONPatch', jsonPatches: [{ op: 'add', path: '/a', value: 1 }] } }));
    rejects(ep({ bootstrap: { type: 'Merge' } }), 'spec.bootstrap.value', 'required');
    rejects(ep({ bootstrap: { type: 'JSONPatch', value: 'x' } }), 'spec.bootstrap.value', 'JSONPatch');
  });
  it('access log sinks carry the settings of their type', () => {
    const sinks = (s: unknown) => ep({ telemetry: { accessLog: { settings: [{ sinks: [s] }] } } });
    accepts(sinks({ type: 'File', file: { path: '/dev/stdout' } }));
    rejects(sinks({ type: 'File' }), 'spec.telemetry.accessLog.settings[0].sinks[0].file', 'required');
    rejects(sinks({ type: 'ALS', file: { path: '/x' } }), 'spec.telemetry.accessLog.settings[0].sinks[0].file', 'only be set');
  });
  it('log levels per component', () => rejects(ep({ logging: { level: { upstream: 'loud' } } }), 'spec.logging.level.upstream', 'one of'));
});

describe('Backend', () => {
  const be = (spec: unknown) => obj('Backend', spec);
  it('each endpoint is one of fqdn, ip, unix; fqdn endpoints are not mixed', () => {
    accepts(be({ endpoints: [{ ip: { address: '10.0.0.1', port: 80 } }, { unix: { path: '/run/a.sock' } }] }));
    rejects(be({ endpoints: [{}] }), 'spec.endpoints[0]', 'one of fqdn, ip or unix');
    rejects(be({ endpoints: [{ ip: { address: '10.0.0.1', port: 80 }, unix: { path: '/a' } }] }), 'spec.endpoints[0]', 'only one');
    rejects(be({ endpoints: [{ fqdn: { hostname: 'a.example.com', port: 80 } }, { ip: { address: '10.0.0.1', port: 80 } }] }), 'spec.endpoints', 'mixed');
    rejects(be({ endpoints: [{ ip: { address: 'example.com', port: 80 } }] }), 'spec.endpoints[0].ip.address', 'IPv4 or IPv6');
    rejects(be({ endpoints: [{ fqdn: { hostname: '*.example.com', port: 80 } }] }), 'spec.endpoints[0].fqdn.hostname', 'no wildcard');
  });
  it('a dynamic resolver has no endpoints; TLS takes one CA source', () => {
    rejects(be({ type: 'DynamicResolver', endpoints: [{ unix: { path: '/a' } }] }), 'spec.endpoints', 'DynamicResolver');
    rejects(be({ tls: { wellKnownCACertificates: 'System', caCertificateRefs: [{ group: '', kind: 'ConfigMap', name: 'c' }] } }), 'spec.tls.wellKnownCACertificates', 'not both');
    rejects(be({ tls: { insecureSkipVerify: true, wellKnownCACertificates: 'System' } }), 'spec.tls.insecureSkipVerify', 'insecureSkipVerify');
  });
});

describe('HTTPRouteFilter and EnvoyPatchPolicy', () => {
  it('host rewrites carry the field their type names', () => {
    const f = (hostname: unknown) => obj('HTTPRouteFilter', { urlRewrite: { hostname } });
    accepts(f({ type: 'Header', header: 'x-host' }));
    rejects(f({ type: 'Header' }), 'spec.urlRewrite.hostname.header', 'required');
    rejects(f({ type: 'PathRegex', header: 'x' }), 'spec.urlRewrite.hostname.header', 'only be set');
    rejects(obj('HTTPRouteFilter', { urlRewrite: { path: { type: 'ReplaceRegexMatch' } } }), 'spec.urlRewrite.path.replaceRegexMatch', 'required');
    rejects(obj('HTTPRouteFilter', { directResponse: { body: { type: 'ValueRef' } } }), 'spec.directResponse.body.valueRef', 'required');
  });
  it('patches address known xDS types', () => {
    const epp = (type: string) =>
      obj('EnvoyPatchPolicy', { type: 'JSONPatch', targetRef: target, jsonPatches: [{ type, name: 'l', operation: { op: 'add', path: '/a', value: 1 } }] });
    accepts(epp('type.googleapis.com/envoy.config.listener.v3.Listener'));
    rejects(epp('type.googleapis.com/envoy.config.listener.v3.Listenr'), 'spec.jsonPatches[0].type', 'one of');
  });
});

describe('EnvoyGateway configuration', () => {
  const cfg = (fields: Record<string, unknown>) => ({ apiVersion: eg, kind: 'EnvoyGateway', ...fields });
  it('accepts a standalone configuration and checks its provider', () => {
    accepts(cfg({ gateway: { controllerName: 'gateway.envoyproxy.io/gatewayclass-controller' }, provider: { type: 'Custom', custom: { resource: { type: 'File', file: { paths: ['/etc/egts'] } } } } }));
    rejects(cfg({ provider: { type: 'Custom' } }), 'provider.custom', 'required');
    rejects(cfg({ provider: { type: 'Kubernetes', kubernetes: { watch: { type: 'Namespaces' } } } }), 'provider.kubernetes.watch.namespaces', 'required');
    rejects(cfg({ logging: { level: { 'gateway-api': 'verbose' } } }), 'logging.level.gateway-api', 'one of');
  });
});

describe('core kinds', () => {
  const core = (kind: string, fields: Record<string, unknown>, apiVersion = 'v1') => ({ apiVersion, kind, metadata: { name: 'x', namespace: 'default' }, ...fields });
  it('Service: ports (named when several, unique), ExternalName needs a name', () => {
    accepts(core('Service', { spec: { clusterIP: '10.0.0.1', ports: [{ name: 'http', port: 80 }, { name: 'https', port: 443, targetPort: 'https' }] } }));
    accepts(core('Service', { spec: { type: 'ExternalName', externalName: 'example.com' } }));
    rejects(core('Service', { spec: { type: 'ExternalName' } }), 'spec.externalName', 'required');
    rejects(core('Service', { spec: { ports: [{ port: 80 }, { name: 'b', port: 81 }] } }), 'spec.ports[0].name', 'needs a name');
    rejects(core('Service', { spec: { ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] } }), 'spec.ports[1].name', 'more than once');
    rejects(core('Service', { spec: { ports: [{ name: 'a', port: 80, protocol: 'HTTP' }] } }), 'spec.ports[0].protocol', 'one of');
    rejects(core('Service', { spec: { clusterIP: 'ten', ports: [{ port: 80 }] } }), 'spec.clusterIP', 'IP address');
  });
  it('EndpointSlice addresses match the address type', () => {
    accepts(core('EndpointSlice', { addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'] }] }, 'discovery.k8s.io/v1'));
    rejects(core('EndpointSlice', { addressType: 'IPv6', endpoints: [{ addresses: ['10.0.0.1'] }] }, 'discovery.k8s.io/v1'), 'endpoints[0].addresses[0]', 'IPv6');
    rejects(core('EndpointSlice', { endpoints: [] }, 'discovery.k8s.io/v1'), 'addressType', 'one of');
  });
  it('Secret data is base64; ConfigMap keys are not in both data and binaryData', () => {
    accepts(core('Secret', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'Zm9v', 'tls.key': 'YmFy' } }));
    rejects(core('Secret', { data: { 'tls.crt': 'not base64!' } }), 'data.tls.crt', 'base64');
    rejects(core('Secret', { data: { 'bad/key': 'Zm9v' } }), 'data.bad/key', 'key');
    rejects(core('ConfigMap', { data: { a: 'x' }, binaryData: { a: 'eA==' } }), 'binaryData.a', 'both');
  });
  it('ServiceImport, Namespace and ClusterTrustBundle', () => {
    accepts(core('ServiceImport', { spec: { type: 'ClusterSetIP', ips: ['10.0.0.1'], ports: [{ port: 80 }] } }, 'multicluster.x-k8s.io/v1alpha1'));
    accepts({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns', labels: { a: 'b' } } });
    rejects({ apiVersion: 'certificates.k8s.io/v1beta1', kind: 'ClusterTrustBundle', metadata: { name: 'b' }, spec: {} }, 'spec.trustBundle', 'required');
  });
});

describe('Go-style field names', () => {
  it('renames fields written in another case to the declared spelling, at any depth', () => {
    const o = sp({ extAuth: { http: { backendRefs: [{ Name: 'svc', Port: 80 }], Path: '/auth' } } });
    assert.ok(problems(o).some((p) => p.includes('unknown field')));
    const renamed = withGoFieldNames(o);
    assert.deepEqual((renamed.spec as any).extAuth.http, { backendRefs: [{ name: 'svc', port: 80 }], path: '/auth' });
    assert.deepEqual(problems(renamed), []);
  });
  it('leaves objects without such fields untouched (same object), and an exact spelling wins', () => {
    const o = sp({ cors: { allowOrigins: ['*'] } });
    assert.equal(withGoFieldNames(o), o);
    const both = withGoFieldNames(obj('Backend', { endpoints: [{ unix: { path: '/a', Path: '/b' } }] })) as any;
    assert.deepEqual(both.spec.endpoints[0].unix, { path: '/a', Path: '/b' });
  });
  it('does not rename map keys', () => {
    const o = obj('EnvoyExtensionPolicy', { targetRefs: [target], wasm: [{ code: { type: 'HTTP', http: { url: 'u' } }, config: { Name: 1 } }] });
    assert.equal(withGoFieldNames(o), o);
  });
});
