// EnvoyExtensionPolicy ext_proc and geo-based SecurityPolicy authorization end to end: manifests →
// `egts translate --to xds` → `egts proxy`, with an echo backend, a gRPC external processor
// (@grpc/grpc-js with Envoy's protos) that adds a header, rewrites a buffered body and answers
// one path itself, and a MaxMind city database the test writes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary } from '../../src/xds/proto/index.js';
import { buildMmdb } from '../support/mmdb.js';
import { backend, gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { request, startEcho, type Echo } from './support.js';

const PORT = 18110;
const b64 = (s: string) => Buffer.from(s).toString('base64');

function processor(call: grpc.ServerDuplexStream<any, any>): void {
  let path = '';
  call.on('data', (m: any) => {
    if (m.requestHeaders) {
      for (const h of m.requestHeaders.headers.headers) if (h.key === ':path') path = Buffer.from(h.rawValue, 'base64').toString();
      if (path.startsWith('/proc/block')) {
        call.write({ immediateResponse: { status: { code: 'Unauthorized' }, body: b64('no entry'), headers: { setHeaders: [{ header: { key: 'x-blocked-by', rawValue: b64('processor') } }] } } });
        return;
      }
      call.write({ requestHeaders: { response: { headerMutation: { setHeaders: [{ header: { key: 'x-processed', rawValue: b64('yes') } }] } } } });
    } else if (m.requestBody) {
      const body = Buffer.from(m.requestBody.body ?? '', 'base64').toString();
      call.write({ requestBody: { response: { bodyMutation: { body: b64(body.split('').reverse().join('')) } } } });
    } else if (m.responseHeaders) {
      call.write({ responseHeaders: { response: { headerMutation: { setHeaders: [{ header: { key: 'x-response-processed', rawValue: b64('yes') } }] } } } });
    }
  });
  call.on('end', () => call.end());
  call.on('error', () => {});
}

describe('EnvoyExtensionPolicy ext_proc and geo authorization through egts translate and egts proxy', () => {
  let echo: Echo;
  let server: grpc.Server;
  let gw: GatewayProxy;
  const dir = mkdtempSync(join(tmpdir(), 'egts-ext-'));

  before(async () => {
    echo = await startEcho('b1');
    server = new grpc.Server();
    server.addService({
      process: {
        path: '/envoy.service.ext_proc.v3.ExternalProcessor/Process', requestStream: true, responseStream: true,
        requestSerialize: (v: unknown) => Buffer.from(toBinary('envoy.service.ext_proc.v3.ProcessingRequest', v)),
        requestDeserialize: (b: Buffer) => fromBinary('envoy.service.ext_proc.v3.ProcessingRequest', b),
        responseSerialize: (v: unknown) => Buffer.from(toBinary('envoy.service.ext_proc.v3.ProcessingResponse', v)),
        responseDeserialize: (b: Buffer) => fromBinary('envoy.service.ext_proc.v3.ProcessingResponse', b),
      },
    } as grpc.ServiceDefinition, { process: processor });
    const grpcPort = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    const cityDb = join(dir, 'GeoLite2-City.mmdb');
    writeFileSync(cityDb, buildMmdb('GeoLite2-City', {
      '127.0.0.0/8': { country: { iso_code: 'US' }, city: { names: { en: 'Seattle' } } },
      '203.0.113.0/24': { country: { iso_code: 'DE' }, city: { names: { en: 'Berlin' } } },
    }));
    const route = (name: string, prefix: string) => `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [{name: echo, port: 8080}]
---
`;
    gw = await startGateway(`
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyProxy
metadata: {name: geo, namespace: default}
spec:
  geoIP:
    provider:
      type: MaxMind
      maxMind:
        cityDbSource: {local: {path: ${cityDb}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
  parametersRef: {group: gateway.envoyproxy.io, kind: EnvoyProxy, name: geo, namespace: default}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: http, port: ${PORT}, protocol: HTTP}]
---
${backend('echo', echo)}
${backend('processor', { http: grpcPort }, 'default', 9000)}
${route('proc', '/proc')}
${route('geo', '/geo')}
${route('plain', '/plain')}
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyExtensionPolicy
metadata: {name: proc, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: proc}]
  extProc:
  - backendRefs: [{name: processor, port: 9000}]
    messageTimeout: 5s
    processingMode:
      request: {body: Buffered}
      response: {}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata: {name: xff, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  clientIPDetection:
    xForwardedFor: {numTrustedHops: 1}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata: {name: geo, namespace: default}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: geo}]
  authorization:
    defaultAction: Deny
    rules:
    - name: us-only
      action: Allow
      principal:
        clientIPGeoLocations: [{country: US}]
`, 'default/gw');
  });
  after(async () => { await Promise.all([gw, echo].map((p) => p?.close())); server?.forceShutdown(); rmSync(dir, { recursive: true, force: true }); });

  test('the processor adds headers both ways and rewrites the buffered body', async () => {
    const res = await request(gw.port(PORT), { path: '/proc/x', method: 'POST', body: 'abc', headers: { 'content-type': 'text/plain' } });
    assert.equal(res.status, 200);
    const seen = res.json();
    assert.equal(seen.headers['x-processed']?.[0], 'yes');
    assert.equal(seen.body, 'cba');
    assert.equal(res.headers['x-response-processed'], 'yes');
  });

  test('the processor answers itself with an immediate response', async () => {
    const res = await request(gw.port(PORT), { path: '/proc/block' });
    assert.equal(res.status, 401);
    assert.equal(res.body, 'no entry');
    assert.equal(res.headers['x-blocked-by'], 'processor');
  });

  test('routes without the policy are not processed', async () => {
    const res = await request(gw.port(PORT), { path: '/plain' });
    assert.equal(res.status, 200);
    assert.equal(res.json().headers['x-processed'], undefined);
  });

  test('geo authorization: the client address from x-forwarded-for looked up in the MaxMind database', async () => {
    const us = await request(gw.port(PORT), { path: '/geo', headers: { 'x-forwarded-for': '127.0.0.9' } });
    assert.equal(us.status, 200);
    const de = await request(gw.port(PORT), { path: '/geo', headers: { 'x-forwarded-for': '203.0.113.5', 'x-eg-internal-geoip-country': 'US' } });
    assert.equal(de.status, 403, 'a client cannot claim a location');
  });
});
