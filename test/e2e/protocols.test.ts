// Protocols end to end: TLS termination with SNI-selected certificates (SDS secrets), mutual TLS,
// HTTP/2 over TLS (ALPN) and h2c (prior knowledge) on the same listener as HTTP/1.1, gRPC to an
// HTTP/2 backend, WebSocket upgrades, and TLS to the upstream with CA validation.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import https from 'node:https';
import tls from 'node:tls';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import WebSocket from 'ws';
import { makeCa, type Ca, type Pem } from './certs.js';
import { cluster, endpoints, forward, httpListener, route, routeConfig } from './xds.js';
import { request, startEcho, startProxy, type Echo, type ProxyProc } from './support.js';

const sds = (name: string) => ({ name, sdsConfig: { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' } });
const secret = (name: string, p: Pem) => ({ name, tlsCertificate: { certificateChain: { inlineString: p.cert }, privateKey: { inlineString: p.key } } });

function downstreamTls(certs: string[], opts: { ca?: string; requireClient?: boolean } = {}): object {
  return {
    '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    commonTlsContext: {
      alpnProtocols: ['h2', 'http/1.1'],
      tlsCertificateSdsSecretConfigs: certs.map(sds),
      ...(opts.ca ? { validationContextSdsSecretConfig: sds(opts.ca) } : {}),
    },
    ...(opts.requireClient ? { requireClientCertificate: true } : {}),
    disableStatefulSessionResumption: true,
    disableStatelessSessionResumption: true,
  };
}

function tlsListener(name: string, chains: { names: string[]; tls: object }[]): object {
  const base = httpListener(name, 'routes') as any;
  const chain = base.defaultFilterChain;
  delete base.defaultFilterChain;
  base.filterChains = chains.map((c, i) => ({ ...chain, name: `${name}-${i}`, filterChainMatch: { serverNames: c.names }, transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: c.tls } }));
  base.listenerFilters = [{ name: 'envoy.filters.listener.tls_inspector', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector' } }];
  return base;
}

describe('protocols through egts proxy', () => {
  let ca: Ca, clientCa: Ca, certA: Pem, certB: Pem, backendCert: Pem, client: Pem;
  let echo: Echo, tlsEcho: Echo, proxy: ProxyProc;

  before(async () => {
    ca = makeCa('server-ca');
    clientCa = makeCa('client-ca');
    certA = ca.issue('a', ['a.example.com']);
    certB = ca.issue('b', ['b.example.com', '*.b.example.com']);
    backendCert = ca.issue('backend', ['backend.internal']);
    client = clientCa.issue('client', ['client.example.com'], true);
    [echo, tlsEcho] = await Promise.all([
      startEcho('plain'),
      startEcho('tls-backend', ['--https', '0', '--cert', backendCert.certFile, '--key', backendCert.keyFile]),
    ]);
    const be = (port: number) => [{ host: '127.0.0.1', port }];
    proxy = await startProxy({
      listeners: [
        httpListener('http', 'routes'),
        tlsListener('https', [
          { names: ['a.example.com'], tls: downstreamTls(['cert-a']) },
          { names: ['b.example.com', '*.b.example.com'], tls: downstreamTls(['cert-b']) },
          { names: ['mtls.example.com'], tls: downstreamTls(['cert-a'], { ca: 'client-ca', requireClient: true }) },
        ]),
      ],
      routes: [routeConfig('routes', [{ name: 'all', domains: ['*'], routes: [
        route('grpc', { prefix: '/echo.Echo/' }, forward('grpc')),
        route('upstream-tls', { prefix: '/tls' }, forward('tls-upstream')),
        route('default', { prefix: '/' }, forward('plain')),
      ] }])],
      clusters: [
        cluster('plain'),
        cluster('grpc', { typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions', explicitHttpConfig: { http2ProtocolOptions: {} } } } }),
        cluster('tls-upstream', { transportSocket: { name: 'envoy.transport_sockets.tls', typedConfig: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext', sni: 'backend.internal',
          commonTlsContext: { validationContext: { trustedCa: { inlineString: ca.cert }, matchTypedSubjectAltNames: [{ sanType: 'DNS', matcher: { exact: 'backend.internal' } }] } } } } }),
      ],
      endpoints: [endpoints('plain', be(echo.http)), endpoints('grpc', be(echo.http)), endpoints('tls-upstream', be(tlsEcho.https!))],
      secrets: [secret('cert-a', certA), secret('cert-b', certB), { name: 'client-ca', validationContext: { trustedCa: { inlineString: clientCa.cert } } }],
    });
  });

  after(async () => { await Promise.all([proxy, echo, tlsEcho].map((p) => p?.close())); });

  function tlsGet(servername: string, extra: tls.ConnectionOptions = {}): Promise<{ status: number; body: string; cn: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: proxy.ports.https, servername, path: '/hello', headers: { host: servername }, ca: ca.cert, agent: false, ...extra }, (res) => {
        let body = '';
        res.on('data', (d) => { body += d; });
        res.on('end', () => resolve({ status: res.statusCode!, body, cn: String((res.socket as tls.TLSSocket).getPeerCertificate().subject.CN) }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  test('TLS termination picks the certificate by SNI', async () => {
    const a = await tlsGet('a.example.com');
    assert.equal(a.status, 200);
    assert.equal(a.cn, 'a.example.com');
    assert.equal(JSON.parse(a.body).headers['x-forwarded-proto'][0], 'https');
    const b = await tlsGet('x.b.example.com');
    assert.equal(b.cn, 'b.example.com');
    await assert.rejects(tlsGet('unknown.example.com'));
  });

  test('mutual TLS: a client certificate signed by the CA is required', async () => {
    const anyName = { checkServerIdentity: () => undefined };
    await assert.rejects(tlsGet('mtls.example.com', anyName));
    const ok = await tlsGet('mtls.example.com', { ...anyName, cert: client.cert, key: client.key });
    assert.equal(ok.status, 200);
    const stranger = makeCa('other').issue('stranger', ['stranger'], true);
    await assert.rejects(tlsGet('mtls.example.com', { ...anyName, cert: stranger.cert, key: stranger.key }));
  });

  test('HTTP/2 over TLS (ALPN) and h2c with prior knowledge', async () => {
    for (const [url, opts] of [[`https://127.0.0.1:${proxy.ports.https}`, { ca: ca.cert, servername: 'a.example.com' }], [`http://127.0.0.1:${proxy.ports.http}`, {}]] as const) {
      const session = http2.connect(url, opts);
      const body = await new Promise<string>((resolve, reject) => {
        const req = session.request({ ':path': '/h2', ':authority': 'a.example.com' });
        let b = '';
        req.on('response', (h) => assert.equal(h[':status'], 200));
        req.on('data', (d) => { b += d; });
        req.on('end', () => resolve(b));
        req.on('error', reject);
        req.end();
      });
      session.close();
      const j = JSON.parse(body);
      assert.equal(j.path, '/h2');
      assert.equal(j.host, 'a.example.com');
    }
    // A request body from an HTTP/2 client reaches an HTTP/1.1 backend (chunked).
    const session = http2.connect(`http://127.0.0.1:${proxy.ports.http}`);
    const posted = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/post', ':method': 'POST', ':authority': 'a.example.com' });
      let b = '';
      req.on('data', (d) => { b += d; });
      req.on('end', () => resolve(b));
      req.on('error', reject);
      req.write('hello ');
      req.end('h2');
    });
    session.close();
    assert.equal(JSON.parse(posted).body, 'hello h2');
    // HTTP/1.1 still works on the same plain listener.
    assert.equal((await request(proxy.ports.http!, { path: '/h1' })).status, 200);
  });

  test('gRPC to an HTTP/2 backend, with trailers', async () => {
    const json = { serialize: (o: unknown) => Buffer.from(JSON.stringify(o)), deserialize: (b: Buffer) => JSON.parse(b.toString()) };
    const Client = grpc.makeGenericClientConstructor({
      Say: { path: '/echo.Echo/Say', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
    }, 'Echo');
    const c = new Client(`127.0.0.1:${proxy.ports.http}`, grpc.credentials.createInsecure());
    const reply = await new Promise<any>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('x-grpc-test', 'yes');
      (c as any).Say({ hello: 'world' }, md, (err: Error | null, r: unknown) => (err ? reject(err) : resolve(r)));
    });
    c.close();
    assert.equal(reply.service, 'echo.Echo');
    assert.equal(reply.method, 'Say');
    assert.equal(reply.proto, 'HTTP/2.0');
    assert.deepEqual(reply.headers['x-grpc-test'], ['yes']);
  });

  test('WebSocket upgrade is tunnelled both ways', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.ports.http}/ws`, { headers: { host: 'ws.example.com' } });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('message', (m) => {
        messages.push(m.toString());
        if (messages.length === 1) ws.send('ping-1');
        else if (messages.length === 2) resolve();
      });
      ws.on('error', reject);
    });
    ws.close();
    const hello = JSON.parse(messages[0]!);
    assert.equal(hello.backend, 'plain');
    assert.equal(hello.path, '/ws');
    assert.equal(messages[1], 'ping-1');
  });

  test('TLS to the upstream with SNI and CA validation', async () => {
    const r = await request(proxy.ports.http!, { path: '/tls/x' });
    assert.equal(r.status, 200);
    const j = r.json();
    assert.equal(j.backend, 'tls-backend');
    assert.equal(j.tls.sni, 'backend.internal');
  });
});
