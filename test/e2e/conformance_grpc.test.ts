// GATEWAY-GRPC conformance scenarios through `egts translate` and `egts proxy`: exact method
// matching, service-only matching, header matching, hostnames, to HTTP/2 echo backends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { backend, gatewayClass, startGateway, type GatewayProxy } from './gateway.js';
import { request, startEcho, type Echo } from './support.js';

const PORT = 18090;
const json = { serialize: (o: unknown) => Buffer.from(JSON.stringify(o)), deserialize: (b: Buffer) => JSON.parse(b.toString()) };

function call(port: number, authority: string, path: string, metadata: Record<string, string> = {}): Promise<any> {
  const [, service, method] = path.split('/');
  const Client = grpc.makeGenericClientConstructor({
    [method!]: { path, requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
  }, service!);
  const c = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': authority });
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) => {
    (c as any)[method!]({}, md, (err: grpc.ServiceError | null, r: unknown) => { c.close(); if (err) reject(err); else resolve(r); });
  });
}

describe('GRPCRoute conformance scenarios', () => {
  let v1: Echo, v2: Echo, v3: Echo, gw: GatewayProxy;

  before(async () => {
    [v1, v2, v3] = await Promise.all(['grpc-v1', 'grpc-v2', 'grpc-v3'].map((n) => startEcho(n)));
    gw = await startGateway(`${gatewayClass}
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: eg
  listeners: [{name: grpc, protocol: HTTP, port: ${PORT}}]
---
${backend('v1', v1)}${backend('v2', v2)}${backend('v3', v3)}
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: grpc, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [grpc.example.com]
  rules:
  - matches: [{method: {type: Exact, service: echo.Echo, method: Alpha}}]
    backendRefs: [{name: v1, port: 8080}]
  - matches: [{method: {type: Exact, service: echo.Echo, method: Beta}}]
    backendRefs: [{name: v2, port: 8080}]
  - matches: [{headers: [{name: version, value: three}]}]
    backendRefs: [{name: v3, port: 8080}]
  - matches: [{method: {type: Exact, service: other.Service}}]
    backendRefs: [{name: v3, port: 8080}]
`);
  });

  after(async () => { await Promise.all([gw, v1, v2, v3].map((p) => p?.close())); });

  test('GRPCExactMethodMatching and service matching', async () => {
    const p = gw.port(PORT);
    assert.equal((await call(p, 'grpc.example.com', '/echo.Echo/Alpha')).backend, 'grpc-v1');
    assert.equal((await call(p, 'grpc.example.com', '/echo.Echo/Beta')).backend, 'grpc-v2');
    assert.equal((await call(p, 'grpc.example.com', '/other.Service/Anything')).backend, 'grpc-v3');
    await assert.rejects(call(p, 'grpc.example.com', '/echo.Echo/Gamma'), (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED);
  });

  test('GRPCRouteHeaderMatching', async () => {
    const r = await call(gw.port(PORT), 'grpc.example.com', '/echo.Echo/Gamma', { version: 'three' });
    assert.equal(r.backend, 'grpc-v3');
    assert.equal(r.proto, 'HTTP/2.0');
  });

  test('GRPCRouteListenerHostnameMatching: other hostnames are not routed', async () => {
    await assert.rejects(call(gw.port(PORT), 'other.example.com', '/echo.Echo/Alpha'), (e: grpc.ServiceError) => e.code === grpc.status.UNIMPLEMENTED);
  });

  test('gRPC-Web clients over HTTP/1.1: trailers come back as a 0x80 frame', async () => {
    const msg = Buffer.from('{}');
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, msg.length]), msg]);
    for (const text of [false, true]) {
      const r = await request(gw.port(PORT), {
        method: 'POST', path: '/echo.Echo/Alpha', host: 'grpc.example.com',
        headers: { 'content-type': text ? 'application/grpc-web-text' : 'application/grpc-web+proto', 'x-grpc-web': '1' },
        body: text ? frame.toString('base64') : frame,
      });
      assert.equal(r.status, 200);
      assert.match(String(r.headers['content-type']), text ? /^application\/grpc-web-text/ : /^application\/grpc-web\+proto/);
      const body = text ? Buffer.from(r.body, 'base64') : r.raw;
      const len = body.readUInt32BE(1);
      assert.equal(JSON.parse(body.subarray(5, 5 + len).toString()).backend, 'grpc-v1');
      const trailer = body.subarray(5 + len);
      assert.equal(trailer[0], 0x80);
      assert.match(trailer.subarray(5).toString(), /grpc-status:0/);
    }
  });
});
