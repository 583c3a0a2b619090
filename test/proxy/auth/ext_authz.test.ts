// ext_authz against real local authorization services: an HTTP one (allow with headers for the
// upstream, deny with its own status, body and headers, request body forwarded) and a gRPC one
// (envoy.service.auth.v3.Authorization/Check served by @grpc/grpc-js with Envoy's protos);
// failure modes when the service is down; disabled by default, enabled per route.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary } from '../../../src/xds/proto/index.js';
import { get, h2Options, listen, staticCluster, startProxy, typed, type Running } from './harness.js';

const EXT = 'envoy.extensions.filters.http.ext_authz.v3.ExtAuthz';
const enable = (name: string, ext: Record<string, string> = {}) => ({ [name]: typed('envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute', { checkSettings: Object.keys(ext).length ? { contextExtensions: ext } : {} }) });

describe('ext_authz', () => {
  let r: Running;
  let httpAuth: { port: number; close(): void };
  let grpcServer: grpc.Server;
  let grpcPort = 0;
  const seenHttp: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const seenGrpc: any[] = [];

  before(async () => {
    httpAuth = await listen(http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        seenHttp.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        if (req.headers.authorization === 'Bearer good') {
          res.writeHead(200, { header1: 'from-auth', 'x-not-allowed': 'nope' });
          res.end();
        } else {
          res.writeHead(401, { 'www-authenticate': 'Custom realm=x', 'content-type': 'application/json' });
          res.end('{"error":"denied"}');
        }
      });
    }));
    grpcServer = new grpc.Server();
    grpcServer.addService({
      check: {
        path: '/envoy.service.auth.v3.Authorization/Check', requestStream: false, responseStream: false,
        requestSerialize: (v: unknown) => Buffer.from(toBinary('envoy.service.auth.v3.CheckRequest', v)),
        requestDeserialize: (b: Buffer) => fromBinary('envoy.service.auth.v3.CheckRequest', b),
        responseSerialize: (v: unknown) => Buffer.from(toBinary('envoy.service.auth.v3.CheckResponse', v)),
        responseDeserialize: (b: Buffer) => fromBinary('envoy.service.auth.v3.CheckResponse', b),
      },
    } as grpc.ServiceDefinition, {
      check: (call: grpc.ServerUnaryCall<any, any>, cb: grpc.sendUnaryData<any>) => {
        seenGrpc.push(call.request);
        const h = call.request.attributes.request.http.headers;
        if (h['x-user'] === 'alice') cb(null, { status: { code: 0 }, okResponse: { headers: [{ header: { key: 'x-authz-user', value: 'alice' } }], headersToRemove: ['x-user'] } });
        else cb(null, { status: { code: 7 }, deniedResponse: { status: { code: 'Forbidden' }, body: 'not alice', headers: [{ header: { key: 'x-reason', value: 'who' } }] } });
      },
    });
    grpcPort = await new Promise<number>((res, rej) => grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    r = await startProxy({
      filters: [
        { name: 'envoy.filters.http.ext_authz/http', disabled: true, typedConfig: typed(EXT, {
          httpService: { pathPrefix: '/auth', serverUri: { cluster: 'http-auth', timeout: '2s', uri: `http://auth.local:${httpAuth.port}/auth` },
            authorizationResponse: { allowedUpstreamHeaders: { patterns: [{ exact: 'header1', ignoreCase: true }] } } },
          allowedHeaders: { patterns: [{ exact: 'x-extra', ignoreCase: true }] },
          transportApiVersion: 'V3', withRequestBody: { maxRequestBytes: 1024 },
        }) },
        { name: 'envoy.filters.http.ext_authz/grpc', disabled: true, typedConfig: typed(EXT, {
          grpcService: { envoyGrpc: { clusterName: 'grpc-auth', authority: 'grpc-auth.default:9000' }, timeout: '2s' },
          transportApiVersion: 'V3', statusOnError: { code: 'InternalServerError' },
        }) },
        { name: 'envoy.filters.http.ext_authz/down', disabled: true, typedConfig: typed(EXT, {
          httpService: { serverUri: { cluster: 'down', timeout: '1s', uri: 'http://down' } }, transportApiVersion: 'V3',
        }) },
        { name: 'envoy.filters.http.ext_authz/open', disabled: true, typedConfig: typed(EXT, {
          httpService: { serverUri: { cluster: 'down', timeout: '1s', uri: 'http://down' } }, transportApiVersion: 'V3', failureModeAllow: true, failureModeAllowHeaderAdd: true,
        }) },
      ],
      clusters: [staticCluster('http-auth', [httpAuth.port]), staticCluster('grpc-auth', [grpcPort], h2Options), staticCluster('down', [1])],
      routes: [
        { name: 'http', prefix: '/http', perFilter: enable('envoy.filters.http.ext_authz/http') },
        { name: 'grpc', prefix: '/grpc', perFilter: enable('envoy.filters.http.ext_authz/grpc', { foo: 'bar' }) },
        { name: 'down', prefix: '/down', perFilter: enable('envoy.filters.http.ext_authz/down') },
        { name: 'failopen', prefix: '/failopen', perFilter: enable('envoy.filters.http.ext_authz/open') },
        { name: 'open', prefix: '/' },
      ],
    });
  });
  after(async () => { await r?.close(); httpAuth?.close(); grpcServer?.forceShutdown(); });

  test('HTTP service: allowed requests carry the allowed headers; what the service sees', async () => {
    const ok = await get(r.port, '/http/a?b=1', { authorization: 'Bearer good', 'x-extra': 'e', 'x-other': 'o' }, 'POST', 'hello');
    assert.equal(ok.status, 200, ok.body);
    const upstream = JSON.parse(ok.body);
    assert.equal(upstream.headers.header1, 'from-auth');
    assert.equal(upstream.headers['x-not-allowed'], undefined);
    assert.equal(upstream.body, 'hello', 'the body still reaches the backend');
    const seen = seenHttp.at(-1)!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.url, '/auth/http/a?b=1');
    assert.equal(seen.headers.host, 'www.example.com');
    assert.equal(seen.headers['x-extra'], 'e');
    assert.equal(seen.headers['x-other'], undefined);
    assert.equal(seen.body, 'hello');
  });

  test('HTTP service: a denial is the service\'s status, body and headers', async () => {
    const no = await get(r.port, '/http/a');
    assert.equal(no.status, 401);
    assert.equal(no.body, '{"error":"denied"}');
    assert.equal(no.headers['www-authenticate'], 'Custom realm=x');
    assert.equal(no.headers['content-type'], 'application/json');
    assert.equal((await get(r.port, '/open')).status, 200, 'not enabled on this route');
  });

  test('gRPC service: allow with header mutations, deny with the denied response', async () => {
    const ok = await get(r.port, '/grpc/x', { 'x-user': 'alice' });
    assert.equal(ok.status, 200, ok.body);
    const up = JSON.parse(ok.body);
    assert.equal(up.headers['x-authz-user'], 'alice');
    assert.equal(up.headers['x-user'], undefined);
    const req = seenGrpc.at(-1)!;
    assert.equal(req.attributes.request.http.path, '/grpc/x');
    assert.equal(req.attributes.request.http.method, 'GET');
    assert.equal(req.attributes.request.http.host, 'www.example.com');
    assert.deepEqual(req.attributes.contextExtensions, { foo: 'bar' });
    assert.equal(req.attributes.source.address.socketAddress.address, '127.0.0.1');
    const no = await get(r.port, '/grpc/x', { 'x-user': 'bob' });
    assert.deepEqual([no.status, no.body, no.headers['x-reason']], [403, 'not alice', 'who']);
  });

  test('an unreachable service fails closed (403 by default) or open when configured', async () => {
    assert.equal((await get(r.port, '/down')).status, 403);
    const open = await get(r.port, '/failopen');
    assert.equal(open.status, 200);
    assert.equal(JSON.parse(open.body).headers['x-envoy-auth-failure-mode-allowed'], 'true');
    grpcServer.forceShutdown();
    assert.equal((await get(r.port, '/grpc/x', { 'x-user': 'alice' })).status, 500, 'status_on_error');
  });
});
