// L4 end to end: TCP proxy (GATEWAY-TCP), TLS passthrough by SNI and TLS termination in front of
// TCP (GATEWAY-TLS), UDP proxy (GATEWAY-UDP) and the PROXY protocol listener filter, with echo
// backends and the proxy as real processes over loopback.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateCertificates } from '../../src/infra/certgen.js';
import { encodeProxyHeader as encode } from '../../src/proxy/upstream/proxy_protocol.js';
import { cluster, endpoints, httpListener, forward, route, routeConfig } from './xds.js';
import { startEcho, startProxy, type Echo, type ProxyProc } from './support.js';
import { PROXY_PROTOCOL, TLS_INSPECTOR, UdpClient, tcpConnect, tcpListener, tcpProxy, tlsConnect, udpListener } from './l4_support.js';

/** A PROXY protocol header for these addresses (LOCAL / UNKNOWN without). */
function encodeProxyHeader(version: 1 | 2, a: { remoteAddress: string; remotePort: number; localAddress: string; localPort: number } | undefined): Buffer {
  return encode(version, a ? { srcAddress: a.remoteAddress, srcPort: a.remotePort, dstAddress: a.localAddress, dstPort: a.localPort } : { srcAddress: '', srcPort: 0, dstAddress: '', dstPort: 0 });
}

describe('L4 through egts proxy', () => {
  let t1: Echo, t2: Echo, s1: Echo, s2: Echo, h1: Echo, proxy: ProxyProc;
  const certs = generateCertificates({ serverNames: ['terminate.example.com'] });

  before(async () => {
    [t1, t2, s1, s2, h1] = await Promise.all([
      startEcho('t1', ['--tcp', '0', '--udp', '0']),
      startEcho('t2', ['--tcp', '0', '--udp', '0']),
      startEcho('s1', ['--tls-tcp', '0', '--cert', writeTmp('s.crt', certs.server.cert), '--key', writeTmp('s.key', certs.server.key)]),
      startEcho('s2', ['--tls-tcp', '0', '--cert', writeTmp('s.crt', certs.server.cert), '--key', writeTmp('s.key', certs.server.key)]),
      startEcho('h1'),
    ]);
    const at = (e: Echo, port: number | undefined) => ({ host: '127.0.0.1', port: port! });
    proxy = await startProxy({
      listeners: [
        tcpListener('tcp', [{ name: 'tcp-route', filters: [tcpProxy('c-tcp', 'tcp-10080')] }]),
        tcpListener('tcp-two', [{ name: 'tcp-two', filters: [tcpProxy('c-tcp-two', 'tcp-10081')] }]),
        tcpListener('tcp-weighted', [{ name: 'tcp-weighted', filters: [{ name: 'envoy.filters.network.tcp_proxy', typedConfig: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', statPrefix: 'tcp-weighted',
          weightedClusters: { clusters: [{ name: 'c-tcp', weight: 1 }, { name: 'c-tcp2', weight: 1 }] } } }] }]),
        tcpListener('tcp-idle', [{ name: 'tcp-idle', filters: [tcpProxy('c-tcp', 'tcp-idle', { idleTimeout: '0.3s' })] }]),
        tcpListener('tcp-empty', [{ name: 'EmptyCluster', filters: [tcpProxy('EmptyCluster', 'tcp-empty')] }]),
        tcpListener('tcp-limit', [{ name: 'tcp-limit', filters: [connectionLimit(1, undefined), tcpProxy('c-tcp', 'tcp-limit')] }]),
        tcpListener('tcp-limit-delay', [{ name: 'tcp-limit-delay', filters: [connectionLimit(1, '0.3s'), tcpProxy('c-tcp', 'tcp-limit-delay')] }]),
        tcpListener('tcp-rbac-deny', [{ name: 'tcp-rbac-deny', filters: [rbacDenying('127.0.0.0', 24, 'tcp-rbac-deny'), tcpProxy('c-tcp', 'tcp-rbac-deny')] }]),
        tcpListener('tcp-rbac-allow', [{ name: 'tcp-rbac-allow', filters: [rbacDenying('10.0.0.0', 8, 'tcp-rbac-allow'), tcpProxy('c-tcp', 'tcp-rbac-allow')] }]),
        tcpListener('tcp-upstream-pp', [{ name: 'tcp-upstream-pp', filters: [tcpProxy('c-tcp-pp', 'tcp-upstream-pp')] }]),
        tcpListener('tcp-down', [{ name: 'tcp-down', filters: [tcpProxy('c-down', 'tcp-down', { maxConnectAttempts: 2, accessLog: [fileLog(tcpLog, {
          jsonFormat: { flags: '%RESPONSE_FLAGS%', cluster: '%UPSTREAM_CLUSTER%', upstream: '%UPSTREAM_HOST%', received: '%BYTES_RECEIVED%' },
        })] })] }]),
        { ...tcpListener('passthrough', [
          { name: 'tls-foo', serverNames: ['foo.example.com'], filters: [tcpProxy('c-tls1', 'tls-passthrough-10443')] },
          { name: 'tls-wild', serverNames: ['*.wild.example.com'], filters: [tcpProxy('c-tls2', 'tls-passthrough-10443')] },
        ], { listenerFilters: [TLS_INSPECTOR] }), accessLog: [{ ...fileLog(listenerLog, { textFormatSource: { inlineString: 'listener %RESPONSE_FLAGS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\n' } }), filter: { responseFlagFilter: { flags: ['NR'] } } }] },
        tcpListener('terminate', [
          { name: 'tls-terminate', serverNames: ['terminate.example.com'], tls: certs.server, filters: [tcpProxy('c-tcp', 'tls-terminate-10443')] },
        ], { listenerFilters: [TLS_INSPECTOR] }),
        tcpListener('tcp-pp', [{ name: 'tcp-pp', filters: [tcpProxy('c-tcp', 'tcp-pp')] }], { listenerFilters: [PROXY_PROTOCOL] }),
        { ...(httpListener('http-pp', 'http-pp-routes') as object), listenerFilters: [PROXY_PROTOCOL] },
        { ...(httpListener('http-pp-tls', 'http-pp-routes', { tls: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
          commonTlsContext: { tlsCertificates: [{ certificateChain: { inlineString: certs.server.cert }, privateKey: { inlineString: certs.server.key } }] },
        }, serverNames: ['terminate.example.com'] }) as { listenerFilters: object[] }), listenerFilters: [PROXY_PROTOCOL, TLS_INSPECTOR] },
        udpListener('udp', 'c-udp'),
        udpListener('udp-idle', 'c-udp', { idleTimeout: '0.2s', statPrefix: 'udp-idle' }),
      ],
      routes: [routeConfig('http-pp-routes', [{ name: 'all', domains: ['*'], routes: [route('all', { prefix: '/' }, forward('c-http'))] }])],
      clusters: [...['c-tcp', 'c-tcp2', 'c-tcp-two', 'c-tls1', 'c-tls2', 'c-udp', 'c-http', 'c-down'].map((n) => cluster(n)), cluster('c-tcp-pp', {
        transportSocket: { name: 'envoy.transport_sockets.upstream_proxy_protocol', typedConfig: {
          '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport',
          config: { version: 'V1' },
          transportSocket: { name: 'envoy.transport_sockets.raw_buffer', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer' } },
        } },
      })],
      endpoints: [
        endpoints('c-tcp', [at(t1, t1.tcp)]),
        endpoints('c-tcp2', [at(t2, t2.tcp)]),
        endpoints('c-tcp-two', [at(t1, t1.tcp), at(t2, t2.tcp)]),
        endpoints('c-tls1', [at(s1, s1.tlsTcp)]),
        endpoints('c-tls2', [at(s2, s2.tlsTcp)]),
        endpoints('c-udp', [at(t1, t1.udp), at(t2, t2.udp)]),
        endpoints('c-http', [at(h1, h1.http)]),
        endpoints('c-tcp-pp', [at(t1, t1.tcp)]),
        endpoints('c-down', [{ host: '127.0.0.1', port: 1 }]),
      ],
    }, ['--concurrency', '1']);
  });

  after(async () => {
    await Promise.all([proxy, t1, t2, s1, s2, h1].map((p) => p?.close()));
  });

  test('GATEWAY-TCP: bytes flow both ways to the route backend', async () => {
    const c = await tcpConnect(proxy.ports.tcp!, 'hello');
    await c.waitFor('t1:hello');
    c.socket.write('again');
    await c.waitFor('t1:again');
    c.socket.end();
    await c.closed();
  });

  test('a client half-close reaches the backend and the answer still comes back', async () => {
    const c = await tcpConnect(proxy.ports.tcp!);
    c.socket.end('last words');
    assert.equal(await c.closed(), 't1:last words');
  });

  test('connections are spread over the cluster endpoints and weighted clusters', async () => {
    for (const name of ['tcp-two', 'tcp-weighted']) {
      const seen = new Set<string>();
      for (let i = 0; i < 12 && seen.size < 2; i++) {
        const c = await tcpConnect(proxy.ports[name]!, 'x');
        const got = await c.waitFor(':x');
        seen.add(got.split(':')[0]!);
        c.socket.destroy();
      }
      assert.deepEqual([...seen].sort(), ['t1', 't2'], name);
    }
  });

  test('an idle TCP connection is closed after the idle timeout', async () => {
    const c = await tcpConnect(proxy.ports['tcp-idle']!, 'ping');
    await c.waitFor('t1:ping');
    const started = Date.now();
    await c.closed(3000);
    assert.ok(Date.now() - started >= 200, 'closed too early');
  });

  test('a route to a missing cluster or a dead backend closes the connection', async () => {
    const empty = await tcpConnect(proxy.ports['tcp-empty']!, 'x');
    assert.equal(await empty.closed(), '');
    const down = await tcpConnect(proxy.ports['tcp-down']!, 'x');
    assert.equal(await down.closed(), '');
    await waitForFile(tcpLog);
    const entry = JSON.parse(readFileSync(tcpLog, 'utf8').trim().split('\n')[0]!);
    assert.deepEqual({ ...entry, received: typeof entry.received }, { flags: 'UF', cluster: 'c-down', upstream: '127.0.0.1:1', received: 'number' });
  });

  test('GATEWAY-TLS: passthrough picks the backend by SNI without terminating TLS', async () => {
    const a = await tlsConnect(proxy.ports.passthrough!, 'foo.example.com');
    a.socket.write('hi');
    assert.match(await a.waitFor(':hi'), /^s1:foo\.example\.com:hi/);
    a.socket.destroy();
    const b = await tlsConnect(proxy.ports.passthrough!, 'x.wild.example.com');
    b.socket.write('yo');
    assert.match(await b.waitFor(':yo'), /^s2:x\.wild\.example\.com:yo/);
    b.socket.destroy();
  });

  test('GATEWAY-TLS: an SNI no route matches is refused', async () => {
    await assert.rejects(tlsConnect(proxy.ports.passthrough!, 'other.example.com'));
    // The listener's access log (filtered on NR) has the refused connection, and only it.
    await waitForFile(listenerLog);
    assert.equal(readFileSync(listenerLog, 'utf8'), 'listener NR 127.0.0.1\n');
  });

  test('TLS terminated at the listener, plain TCP to the backend', async () => {
    const c = await tlsConnect(proxy.ports.terminate!, 'terminate.example.com', certs.ca);
    c.socket.write('secret');
    await c.waitFor('t1:secret');
    c.socket.destroy();
  });

  test('GATEWAY-UDP: datagrams reach a backend and replies come back, one backend per session', async () => {
    const client = new UdpClient(proxy.ports.udp!);
    try {
      client.send('one');
      await client.waitReplies(1);
      client.send('two');
      client.send('three');
      const replies = await client.waitReplies(3);
      const backend = replies[0]!.split(':')[0];
      assert.deepEqual(replies.map((r) => r.split(':')[0]), [backend, backend, backend]);
      assert.deepEqual(replies.map((r) => r.split(':')[1]).sort(), ['one', 'three', 'two']);
    } finally {
      client.close();
    }
    // Sessions from many clients use both backends (least request with equal load: random choice).
    const seen = new Set<string>();
    for (let i = 0; i < 12 && seen.size < 2; i++) {
      const c = new UdpClient(proxy.ports.udp!);
      c.send('x');
      seen.add((await c.waitReplies(1))[0]!.split(':')[0]!);
      c.close();
    }
    assert.equal(seen.size, 2);
  });

  test('a UDP session idle for longer than its idle timeout starts over', async () => {
    const client = new UdpClient(proxy.ports['udp-idle']!);
    try {
      client.send('a');
      await client.waitReplies(1);
      await new Promise((r) => setTimeout(r, 450));
      client.send('b');
      await client.waitReplies(2);
    } finally {
      client.close();
    }
  });

  test('PROXY protocol v1 and v2: the backend sees the original client address', async () => {
    for (const version of [1, 2] as const) {
      const header = encodeProxyHeader(version, { remoteAddress: '203.0.113.7', remotePort: 4242, localAddress: '198.51.100.1', localPort: 80 });
      const c = await tcpConnect(proxy.ports['http-pp']!, Buffer.concat([header, Buffer.from('GET /pp HTTP/1.1\r\nhost: pp.example.com\r\nconnection: close\r\n\r\n')]));
      const got = await c.closed();
      assert.match(got, /^HTTP\/1\.1 200/);
      const body = JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4));
      assert.deepEqual(body.headers['x-forwarded-for'], ['203.0.113.7'], `v${version}`);
    }
  });

  test('PROXY protocol in front of TLS with SNI matching, and in front of TCP', async () => {
    const header = encodeProxyHeader(2, { remoteAddress: '203.0.113.9', remotePort: 1, localAddress: '198.51.100.1', localPort: 443 });
    const raw = await tcpConnect(proxy.ports['http-pp-tls']!, header);
    const tls = await import('node:tls');
    const ts = tls.connect({ socket: raw.socket, servername: 'terminate.example.com', ca: certs.ca });
    const got = await new Promise<string>((resolve, reject) => {
      let out = '';
      ts.on('secureConnect', () => ts.write('GET / HTTP/1.1\r\nhost: terminate.example.com\r\nconnection: close\r\n\r\n'));
      ts.on('data', (d) => { out += d; });
      ts.on('end', () => resolve(out));
      ts.on('error', reject);
    });
    assert.match(got, /^HTTP\/1\.1 200/);
    assert.deepEqual(JSON.parse(got.slice(got.indexOf('\r\n\r\n') + 4)).headers['x-forwarded-for'], ['203.0.113.9']);
    const c = await tcpConnect(proxy.ports['tcp-pp']!, Buffer.concat([encodeProxyHeader(1, undefined), Buffer.from('after header')]));
    await c.waitFor('t1:after header');
    c.socket.destroy();
  });

  test('an upstream PROXY protocol transport tells a TCP backend the client address', async () => {
    const c = await tcpConnect(proxy.ports['tcp-upstream-pp']!);
    c.socket.write('hi');
    // The header and the data may reach the echo backend in one piece or two.
    const got = await c.waitFor('hi');
    assert.match(got, new RegExp(`^t1:PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 ${c.socket.localPort} ${proxy.ports['tcp-upstream-pp']}\\r\\n(t1:)?hi$`));
    c.socket.destroy();
  });

  test('connection limit: connections over max_connections are closed, after the delay when there is one', async () => {
    for (const [name, delayed] of [['tcp-limit', false], ['tcp-limit-delay', true]] as const) {
      const first = await tcpConnect(proxy.ports[name]!, 'one');
      await first.waitFor('t1:one');
      const started = Date.now();
      const second = await tcpConnect(proxy.ports[name]!, 'two');
      assert.equal(await second.closed(), '');
      const took = Date.now() - started;
      assert.ok(delayed ? took >= 250 : took < 250, `${name} closed after ${took} ms`);
      first.socket.destroy();
      await new Promise((r) => setTimeout(r, 100));
      const third = await tcpConnect(proxy.ports[name]!, 'three');
      await third.waitFor('t1:three');
      third.socket.destroy();
    }
  });

  test("network RBAC (Envoy Gateway's TCPRoute authorization): a denied client address is refused, others pass", async () => {
    const denied = await tcpConnect(proxy.ports['tcp-rbac-deny']!, 'x');
    assert.equal(await denied.closed(), '');
    const allowed = await tcpConnect(proxy.ports['tcp-rbac-allow']!, 'y');
    await allowed.waitFor('t1:y');
    allowed.socket.destroy();
  });

  test('a connection without the PROXY protocol header is refused', async () => {
    const c = await tcpConnect(proxy.ports['tcp-pp']!, 'no header here\r\n');
    assert.equal(await c.closed(), '');
  });
});

const tmp = mkdtempSync(join(tmpdir(), 'egts-l4-'));
function writeTmp(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const tcpLog = join(tmp, 'tcp.log');
const listenerLog = join(tmp, 'listener.log');

function fileLog(path: string, logFormat: object): object {
  return { name: 'envoy.access_loggers.file', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path, logFormat } };
}

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 100 && !(existsSync(path) && readFileSync(path, 'utf8').endsWith('\n')); i++) await new Promise((r) => setTimeout(r, 20));
}

function connectionLimit(max: number, delay: string | undefined): object {
  return { name: 'envoy.filters.network.connection_limit', typedConfig: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit', maxConnections: String(max), statPrefix: 'limit', ...(delay ? { delay } : {}),
  } };
}

/** The RBAC filter Envoy Gateway writes for a TCPRoute authorization denying one client CIDR. */
function rbacDenying(prefix: string, len: number, statPrefix: string): object {
  const action = (name: string, a?: string) => ({ name, typedConfig: { '@type': 'type.googleapis.com/envoy.config.rbac.v3.Action', name, ...(a ? { action: a } : {}) } });
  return { name: 'envoy.filters.network.rbac', typedConfig: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC', statPrefix,
    matcher: {
      matcherList: { matchers: [{
        onMatch: { action: action('deny', 'DENY') },
        predicate: { singlePredicate: {
          customMatch: { name: 'ip_matcher', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.matching.input_matchers.ip.v3.Ip', cidrRanges: [{ addressPrefix: prefix, prefixLen: len }], statPrefix: 'client_ip' } },
          input: { name: 'client_ip', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.SourceIPInput' } },
        } },
      }] },
      onNoMatch: { action: action('default') },
    },
  } };
}
