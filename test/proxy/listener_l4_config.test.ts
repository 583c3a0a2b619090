// L4 listener configuration as the proxy compiles it: socket options, listener access logs,
// UDP listeners, and precise refusals for what it cannot do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileResource } from '../../src/proxy/config/errors.js';
import { compileListener } from '../../src/proxy/listener/listener_config.js';
import '../../src/proxy/proxy.js';

const ctx = { readFile: () => Buffer.alloc(0), routeProvider: (name: string) => ({ name, table: undefined }), clusters: { get: () => undefined }, secrets: { get: () => undefined, version: 0 } };
const tcp = { name: 'envoy.filters.network.tcp_proxy', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', cluster: 'c', statPrefix: 'p' } };
const listener = (extra: object) => ({ name: 'l', address: { socketAddress: { address: '0.0.0.0', portValue: 10080 } }, filterChains: [{ filters: [tcp] }], ...extra });
const problem = (l: object) => compileResource('Listener', 'l', () => compileListener(l, ctx)).problem;

test('TCP keepalive socket options', () => {
  const c = compileListener(listener({ socketOptions: [
    { description: 'keep alive', intValue: '1', level: '1', name: '9' },
    { intValue: '50', level: '6', name: '4' }, { intValue: '200', level: '6', name: '5' }, { intValue: '7', level: '6', name: '6' },
  ] }), ctx);
  assert.deepEqual(c.keepalive, { idleMs: 50_000 });
  assert.equal(compileListener(listener({}), ctx).keepalive, undefined);
  assert.deepEqual(problem(listener({ socketOptions: [{ intValue: '1', level: '6', name: '1' }] })), { kind: 'Listener', name: 'l', field: 'socketOptions[0]', message: 'unsupported socket option (level 6, name 1)' });
});

test('listener access logs are compiled with their filters; unknown network filters and QUIC are refused by name', () => {
  const c = compileListener(listener({ accessLog: [{ name: 'f', filter: { responseFlagFilter: { flags: ['NR'] } }, typedConfig: {
    '@type': 'type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog', path: '/dev/null', logFormat: { textFormatSource: { inlineString: '%RESPONSE_FLAGS%\n' } } } }] }), ctx);
  assert.equal(c.accessLogs.length, 1);
  const p = problem(listener({ filterChains: [{ filters: [{ name: 'x', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.mongo_proxy.v3.MongoProxy' } }, tcp] }] }));
  assert.equal(p?.field, 'filterChains[0].filters[0].typedConfig');
  const quic = problem({ name: 'q', address: { socketAddress: { address: '0.0.0.0', portValue: 443, protocol: 'UDP' } }, filterChains: [{ filters: [tcp] }] });
  assert.match(quic!.message, /QUIC/);
});

test('UDP proxy configuration: matcher routes, defaults, refusals', () => {
  const udp = (cfg: object) => ({ name: 'u', address: { socketAddress: { address: '0.0.0.0', portValue: 53, protocol: 'UDP' } }, listenerFilters: [{ name: 'envoy.filters.udp_listener.udp_proxy', typedConfig: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig', statPrefix: 's', ...cfg } }] });
  const route = (cluster: string) => ({ action: { name: 'route', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.Route', cluster } } });
  const c = compileListener(udp({ matcher: {
    matcherList: { matchers: [{ predicate: { singlePredicate: { input: { name: 'p', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.SourcePortInput' } }, valueMatch: { exact: '5353' } } }, onMatch: route('mdns') }] },
    onNoMatch: route('dns'),
  } }), ctx);
  const cfg = (c.udp as unknown as { config: { route(a: object): string; idleTimeoutMs: number } }).config;
  assert.equal(cfg.route({ remoteAddress: '10.0.0.1', remotePort: 5353, localAddress: '10.0.0.2', localPort: 53 }), 'mdns');
  assert.equal(cfg.route({ remoteAddress: '10.0.0.1', remotePort: 1234, localAddress: '10.0.0.2', localPort: 53 }), 'dns');
  assert.equal(cfg.idleTimeoutMs, 60_000);
  assert.equal(problem(udp({ cluster: 'x', sessionFilters: [{ name: 'f' }] }))?.field, 'listenerFilters[0].typedConfig.sessionFilters');
  assert.equal(problem(udp({}))?.message, 'one of cluster or matcher is required');
});
