// ext_proc against a real local processor: envoy.service.ext_proc.v3.ExternalProcessor/Process
// served by @grpc/grpc-js with Envoy's protos, driven by the request path. Header mutations both
// ways, buffered and streamed body rewrites, trailers, immediate responses, a clean close, gRPC
// errors and message timeouts (failing closed, or open with failure_mode_allow), mutation rules,
// attributes and metadata, per-route disable and overrides; dynamic modules are refused.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary } from '../../src/xds/proto/index.js';
import { get, h2Options, problemsOf, staticCluster, startProxy, typed, type Running } from './auth/harness.js';

const EXT = 'envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor';
const PER_ROUTE = 'envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString();
const header = (key: string, value: string, extra: object = {}) => ({ header: { key, rawValue: b64(value) }, ...extra });

type Msg = Record<string, any>;

/** What the processor saw, per stream. */
const streams: Msg[][] = [];

function headersOf(m: Msg): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of m.headers?.headers ?? []) out[h.key] = h.rawValue !== undefined ? unb64(h.rawValue) : h.value;
  return out;
}

/** The processor: what it answers depends on the request path it saw first. */
function process(call: grpc.ServerDuplexStream<Msg, Msg>): void {
  const seen: Msg[] = [];
  streams.push(seen);
  let path = '';
  call.on('data', (m: Msg) => {
    seen.push(m);
    if (m.requestHeaders) path = headersOf(m.requestHeaders)[':path'] ?? '';
    if (path.startsWith('/observe')) return;
    if (path.startsWith('/slow')) return; // never answers
    if (path.startsWith('/close')) { call.end(); return; }
    if (path.startsWith('/fail')) { call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'processor failed' }); return; }
    if (m.requestHeaders) {
      if (path.startsWith('/immediate')) {
        call.write({ immediateResponse: { status: { code: 'Forbidden' }, body: b64('blocked by processor'), details: 'blocked_by_test',
          headers: { setHeaders: [header('x-why', 'policy'), header('content-type', 'text/x-blocked')] } } });
        return;
      }
      if (path.startsWith('/replace')) {
        call.write({ requestHeaders: { response: { status: 'CONTINUE_AND_REPLACE', bodyMutation: { body: b64('replacement') } } } });
        return;
      }
      if (path.startsWith('/mode')) {
        call.write({ requestHeaders: { response: {} }, modeOverride: { responseHeaderMode: 'SKIP' } });
        return;
      }
      const setHeaders = [header('x-added', 'yes'), header('x-envoy-sneaky', 'no'), header(':authority', 'evil.example.com')];
      if (path.startsWith('/rewrite-path')) setHeaders.push(header(':path', '/rewritten'));
      call.write({
        requestHeaders: { response: { headerMutation: { setHeaders, removeHeaders: ['x-remove-me', ':method', 'host'] } } },
        dynamicMetadata: { 'envoy.filters.http.my_ns': { seen: path }, 'not.allowed': { x: 1 } },
      });
      return;
    }
    if (m.requestBody) {
      const body = unb64(m.requestBody.body);
      if (path.startsWith('/duplex')) {
        call.write({ requestBody: { response: { bodyMutation: { streamedResponse: { body: b64(`<${body.toUpperCase()}>`), endOfStream: m.requestBody.endOfStream === true } } } } });
        return;
      }
      if (path.startsWith('/stream')) {
        call.write({ requestBody: { response: { bodyMutation: { body: b64(body.toUpperCase()) } } } });
      } else {
        call.write({ requestBody: { response: {
          headerMutation: { setHeaders: [header('x-body-seen', String(body.length)), header('content-type', 'text/plain')] },
          bodyMutation: { body: b64(`processed:${body}`) } } } });
      }
      return;
    }
    if (m.requestTrailers) {
      call.write({ requestTrailers: { headerMutation: { setHeaders: [header('x-trailer-added', 'yes')] } } });
      return;
    }
    if (m.responseHeaders) {
      const status = headersOf(m.responseHeaders)[':status'];
      call.write({ responseHeaders: { response: { headerMutation: {
        setHeaders: [header('x-resp', `seen-${status}`), ...(path.startsWith('/status') ? [header(':status', '201')] : [])],
        removeHeaders: ['x-backend'] } } } });
      return;
    }
    if (m.responseBody) {
      const body = unb64(m.responseBody.body);
      call.write({ responseBody: { response: { bodyMutation: { body: b64(body.replace(/"/g, "'")) } } } });
      return;
    }
    if (m.responseTrailers) call.write({ responseTrailers: {} });
  });
  call.on('end', () => call.end());
  call.on('error', () => {});
}

describe('ext_proc', () => {
  let r: Running;
  let server: grpc.Server;
  let port = 0;
  let trailerBackend: http.Server;
  let trailerPort = 0;
  const trailersSeen: Record<string, string | undefined>[] = [];

  const filter = (name: string, extra: object = {}) => ({
    name: `envoy.filters.http.ext_proc/${name}`, disabled: true, typedConfig: typed(EXT, {
      grpcService: { envoyGrpc: { clusterName: 'processor', authority: 'processor.default:9000' }, timeout: '10s' },
      messageTimeout: '1s',
      ...extra,
    }),
  });
  const enable = (name: string) => ({ [`envoy.filters.http.ext_proc/${name}`]: typed('envoy.config.route.v3.FilterConfig', { config: {} }) });
  const override = (name: string, overrides: object) => ({ [`envoy.filters.http.ext_proc/${name}`]: typed(PER_ROUTE, { overrides }) });

  before(async () => {
    server = new grpc.Server();
    server.addService({
      process: {
        path: '/envoy.service.ext_proc.v3.ExternalProcessor/Process', requestStream: true, responseStream: true,
        requestSerialize: (v: unknown) => Buffer.from(toBinary('envoy.service.ext_proc.v3.ProcessingRequest', v)),
        requestDeserialize: (b: Buffer) => fromBinary('envoy.service.ext_proc.v3.ProcessingRequest', b),
        responseSerialize: (v: unknown) => Buffer.from(toBinary('envoy.service.ext_proc.v3.ProcessingResponse', v)),
        responseDeserialize: (b: Buffer) => fromBinary('envoy.service.ext_proc.v3.ProcessingResponse', b),
      },
    } as grpc.ServiceDefinition, { process });
    trailerBackend = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { trailersSeen.push(req.trailers as Record<string, string>); res.end('ok'); });
    });
    await new Promise<void>((res) => trailerBackend.listen(0, '127.0.0.1', () => res()));
    trailerPort = (trailerBackend.address() as { port: number }).port;
    port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    r = await startProxy({
      filters: [
        filter('main', {
          requestAttributes: ['request.path', 'xds.route_metadata', 'request.method'],
          responseAttributes: ['response.code'],
          metadataOptions: { receivingNamespaces: { untyped: ['envoy.filters.http.my_ns'] } },
        }),
        filter('open', { failureModeAllow: true, processingMode: { responseHeaderMode: 'SKIP' } }),
        filter('observe', { observabilityMode: true, processingMode: { responseHeaderMode: 'SKIP', requestBodyMode: 'STREAMED' } }),
        filter('strict', { mutationRules: { disallowIsError: true }, processingMode: { responseHeaderMode: 'SKIP' } }),
        filter('override', { allowModeOverride: true }),
        filter('down', { grpcService: { envoyGrpc: { clusterName: 'nowhere' } }, statusOnError: { code: 'ServiceUnavailable' } }),
      ],
      hcm: { httpProtocolOptions: { enableTrailers: true } },
      clusters: [staticCluster('trailers', [trailerPort], { typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', { explicitHttpConfig: { httpProtocolOptions: { enableTrailers: true } } }) } }), staticCluster('processor', [port], h2Options), staticCluster('nowhere', [1], h2Options)],
      routes: [
        { name: 'add', prefix: '/add', perFilter: enable('main') },
        { name: 'rewrite-path', prefix: '/rewrite-path', perFilter: enable('main') },
        { name: 'status', prefix: '/status', perFilter: enable('main') },
        { name: 'immediate', prefix: '/immediate', perFilter: enable('main') },
        { name: 'buffered', prefix: '/buffered', perFilter: override('main', { processingMode: { requestBodyMode: 'BUFFERED', responseHeaderMode: 'SKIP' } }) },
        { name: 'stream', prefix: '/stream', perFilter: override('main', { processingMode: { requestBodyMode: 'STREAMED', responseHeaderMode: 'SKIP', responseBodyMode: 'STREAMED' } }) },
        { name: 'close', prefix: '/close', perFilter: enable('main') },
        { name: 'trailers', prefix: '/trailers', cluster: 'trailers', perFilter: override('main', { processingMode: { requestTrailerMode: 'SEND', responseHeaderMode: 'SKIP' } }) },
        { name: 'replace', prefix: '/replace', perFilter: enable('main') },
        { name: 'duplex', prefix: '/duplex', perFilter: override('main', { processingMode: { requestBodyMode: 'FULL_DUPLEX_STREAMED', requestTrailerMode: 'SEND', responseHeaderMode: 'SKIP' } }) },
        { name: 'strict', prefix: '/strict', perFilter: enable('strict') },
        { name: 'mode-ignored', prefix: '/mode-ignored', perFilter: enable('main') },
        { name: 'mode', prefix: '/mode', perFilter: enable('override') },
        { name: 'fail', prefix: '/fail', perFilter: enable('main') },
        { name: 'slow-open', prefix: '/slow-open', perFilter: enable('open') },
        { name: 'slow', prefix: '/slow', perFilter: enable('main') },
        { name: 'observe', prefix: '/observe', perFilter: enable('observe') },
        { name: 'down', prefix: '/down', perFilter: enable('down') },
        { name: 'off', prefix: '/off' },
      ],
    });
  });
  after(async () => { await r?.close(); server?.forceShutdown(); trailerBackend?.close(); });

  test('header mutations both ways, with the mutation rules, attributes and received metadata', async () => {
    const before = streams.length;
    const res = await get(r.port, '/add/x', { 'x-remove-me': '1', 'x-keep': 'k' });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.headers['x-added'], 'yes');
    assert.equal(seen.headers['x-remove-me'], undefined);
    assert.equal(seen.headers['x-keep'], 'k');
    assert.equal(seen.headers['x-envoy-sneaky'], undefined, 'x-envoy headers are not settable by default');
    assert.equal(seen.headers.host, 'www.example.com', 'routing headers are not settable by default, host not removable');
    assert.equal(seen.method, 'GET');
    assert.equal(res.headers['x-resp'], 'seen-200');
    assert.equal(res.headers['x-backend'], undefined);
    const msgs = streams[before]!;
    assert.ok(msgs[0].requestHeaders);
    assert.equal(msgs[0].requestHeaders.endOfStream, true);
    const h = headersOf(msgs[0].requestHeaders);
    assert.equal(h[':method'], 'GET');
    assert.equal(h[':authority'], 'www.example.com');
    assert.equal(h['x-remove-me'], '1');
    assert.deepEqual(msgs[0].attributes['envoy.filters.http.ext_proc'], { 'request.path': '/add/x', 'request.method': 'GET', 'xds.route_metadata': {} });
    assert.ok(msgs[1].responseHeaders);
    assert.equal(msgs[1].attributes['envoy.filters.http.ext_proc']['response.code'], 200);
  });

  test(':path and :status mutations', async () => {
    const res = await get(r.port, '/rewrite-path');
    assert.equal(JSON.parse(res.body).path, '/rewritten');
    const st = await get(r.port, '/status');
    assert.equal(st.status, 201);
    assert.equal(st.headers['x-resp'], 'seen-200');
  });

  test('buffered request body: rewritten with content-length fixed, headers changed by the body answer', async () => {
    const res = await get(r.port, '/buffered', { 'content-type': 'application/json' }, 'POST', '{"a":1}');
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.body, 'processed:{"a":1}');
    assert.equal(seen.headers['content-length'], String('processed:{"a":1}'.length));
    assert.equal(seen.headers['x-body-seen'], '7');
    assert.equal(seen.headers['content-type'], 'text/plain');
    assert.equal(seen.headers['x-added'], 'yes');
  });

  test('streamed bodies: each request and response chunk goes through the processor', async () => {
    const before = streams.length;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: r.port, path: '/stream', method: 'POST', headers: { host: 'www.example.com' }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write('hello ');
      setTimeout(() => req.end('world'), 50);
    });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body.replace(/'/g, '"'));
    assert.equal(seen.body, 'HELLO WORLD');
    const msgs = streams[before]!;
    assert.ok(msgs.filter((m) => m.requestBody).length >= 2, 'request chunks sent one by one');
    assert.ok(msgs.some((m) => m.responseBody?.endOfStream));
    assert.ok(!msgs.some((m) => m.responseHeaders), 'response headers skipped');
  });

  test('CONTINUE_AND_REPLACE on request headers gives a bodiless request a body', async () => {
    const res = await get(r.port, '/replace');
    const seen = JSON.parse(res.body);
    assert.equal(seen.body, 'replacement');
    assert.equal(seen.headers['content-length'], '11');
  });

  test('full-duplex streaming: the processor streams the body back', async () => {
    const before = streams.length;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: r.port, path: '/duplex', method: 'POST', headers: { host: 'www.example.com' }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write('ab');
      setTimeout(() => req.end('cd'), 50);
    });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).body, '<AB><CD><>');
    assert.ok(streams[before]!.filter((m) => m.requestBody).length >= 2);
  });

  test('a disallowed mutation fails the request with disallow_is_error', async () => {
    const res = await get(r.port, '/strict');
    assert.equal(res.status, 500);
  });

  test('mode_override applies only with allow_mode_override', async () => {
    let before = streams.length;
    await get(r.port, '/mode');
    assert.ok(!streams[before]!.some((m) => m.responseHeaders), 'response headers skipped by the override');
    before = streams.length;
    await get(r.port, '/mode-ignored');
    assert.ok(streams[before]!.some((m) => m.responseHeaders), 'override ignored');
  });

  test('request trailers go to the processor and carry its mutation upstream', async () => {
    const before = streams.length;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: r.port, path: '/trailers', method: 'POST', agent: false,
        headers: { host: 'www.example.com', 'transfer-encoding': 'chunked', trailer: 'x-checksum' } }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode!)); });
      req.on('error', reject);
      req.write('body');
      req.addTrailers({ 'x-checksum': 'abc' });
      req.end();
    });
    assert.equal(status, 200);
    const t = streams[before]!.find((m) => m.requestTrailers);
    assert.ok(t, 'trailers sent');
    assert.equal(unb64(t.requestTrailers.trailers.headers.find((h: Msg) => h.key === 'x-checksum')?.rawValue), 'abc');
    assert.deepEqual(trailersSeen.at(-1), { 'x-checksum': 'abc', 'x-trailer-added': 'yes' });
  });

  test('immediate response', async () => {
    const res = await get(r.port, '/immediate');
    assert.equal(res.status, 403);
    assert.equal(res.body, 'blocked by processor');
    assert.equal(res.headers['x-why'], 'policy');
    assert.equal(res.headers['content-type'], 'text/x-blocked');
    assert.equal(r.backend.seen.some((s) => s.path === '/immediate'), false);
  });

  test('a clean close ends processing: the request goes on unchanged', async () => {
    const res = await get(r.port, '/close', { 'x-remove-me': '1' });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).headers['x-remove-me'], '1');
  });

  test('gRPC errors and timeouts fail the request unless failure_mode_allow', async () => {
    const fail = await get(r.port, '/fail');
    assert.equal(fail.status, 500);
    const slow = await get(r.port, '/slow');
    assert.equal(slow.status, 504);
    const open = await get(r.port, '/slow-open', { 'x-remove-me': '1' });
    assert.equal(open.status, 200);
    assert.equal(JSON.parse(open.body).headers['x-remove-me'], '1');
    const down = await get(r.port, '/down');
    assert.equal(down.status, 503, 'status_on_error');
  });

  test('observability mode sends without waiting', async () => {
    const before = streams.length;
    const res = await get(r.port, '/observe', {}, 'POST', 'abc');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).body, 'abc');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const msgs = streams[before]!;
    assert.ok(msgs[0].requestHeaders);
    assert.equal(msgs[0].observabilityMode, true);
    assert.equal(unb64(msgs.find((m) => m.requestBody)?.requestBody.body), 'abc');
  });

  test('routes without the filter are not processed', async () => {
    const before = streams.length;
    const res = await get(r.port, '/off', { 'x-remove-me': '1' });
    assert.equal(res.status, 200);
    assert.equal(streams.length, before);
  });
});

describe('ext_proc and dynamic modules config', () => {
  test('refused precisely', async () => {
    const bad = await problemsOf({
      filters: [{ name: 'envoy.filters.http.ext_proc/x', typedConfig: typed(EXT, {
        grpcService: { envoyGrpc: { clusterName: 'p' } }, processingMode: { requestBodyMode: 'FULL_DUPLEX_STREAMED' } }) }],
      routes: [{ name: 'r', prefix: '/' }],
    });
    assert.match(bad.join('\n'), /requestTrailerMode: FULL_DUPLEX_STREAMED request body mode requires request_trailer_mode SEND/);
    const dm = await problemsOf({
      filters: [{ name: 'envoy.filters.http.dynamic_modules/p/0', disabled: true, typedConfig: typed('envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter', {
        dynamicModuleConfig: { module: { local: { filename: '/usr/lib/envoy/modules/my_auth.so' } } }, filterName: 'auth-check' }) }],
      routes: [{ name: 'r', prefix: '/' }],
    });
    assert.equal(dm.length, 1);
    assert.match(dm[0]!, /envoy\.filters\.http\.dynamic_modules\/p\/0: dynamic module \/usr\/lib\/envoy\/modules\/my_auth\.so \(module filter "auth-check"\) cannot be loaded/);
    assert.match(dm[0]!, /Envoy's C ABI/);
  });
});
