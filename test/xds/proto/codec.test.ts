// The proto3 JSON mapping as Envoy's API defines it, checked on small messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtoError, canonicalJson, fromBinary, toBinary } from '../../../src/xds/proto/index.js';

const CLUSTER = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
const LISTENER = 'envoy.config.listener.v3.Listener';

function throwsAt(fn: () => unknown, field: string, reason: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ProtoError, String(err));
    assert.equal(err.field, field);
    assert.match(err.reason, reason);
    return true;
  });
}

test('accepts proto names, enum numbers and numbers as strings; prints the canonical form', () => {
  const out = canonicalJson(CLUSTER, {
    name: 'c',
    connect_timeout: '1.500s',
    type: 1,
    lb_policy: 'ROUND_ROBIN', // the default: dropped
    per_connection_buffer_limit_bytes: '32768',
    load_assignment: { cluster_name: 'c', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: '1.1.1.1', port_value: '80' } } } }] }] },
    common_lb_config: {},
  });
  assert.deepEqual(out, {
    name: 'c',
    connectTimeout: '1.500s',
    type: 'STRICT_DNS',
    perConnectionBufferLimitBytes: 32768,
    loadAssignment: { clusterName: 'c', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '1.1.1.1', portValue: 80 } } } }] }] },
    commonLbConfig: {},
  });
});

test('well-known types: Duration, Timestamp, wrappers, Struct, FieldMask, Any', () => {
  const listener = {
    name: 'l',
    listenerFiltersTimeout: '0s',
    perConnectionBufferLimitBytes: 0, // UInt32Value: presence, kept even at 0
    metadata: { filterMetadata: { a: { s: 'x', n: 1.5, b: true, z: null, l: [1, 'two', { three: 3 }], o: {} } } },
    filterChains: [{
      filters: [{
        name: 'envoy.filters.network.tcp_proxy',
        typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', statPrefix: 's', cluster: 'c', idleTimeout: '3600s' },
      }],
    }],
  };
  assert.deepEqual(canonicalJson(LISTENER, listener), listener);
  const any = { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '-0.000001s' };
  assert.deepEqual(canonicalJson('google.protobuf.Any', any), any);
  assert.deepEqual(canonicalJson('google.protobuf.Timestamp', '2024-02-29T23:59:59.5+01:00'), '2024-02-29T22:59:59.500Z');
  assert.deepEqual(canonicalJson('google.protobuf.FieldMask', 'routeConfig.virtualHosts'), 'routeConfig.virtualHosts');
  assert.deepEqual(canonicalJson('google.protobuf.UInt64Value', 18446744073709551615n.toString()), '18446744073709551615');
  assert.deepEqual(canonicalJson('google.protobuf.Int64Value', -5), '-5');
  assert.deepEqual(canonicalJson('google.protobuf.BytesValue', 'aGVsbG8-'), 'aGVsbG8+');
  assert.deepEqual(canonicalJson('google.protobuf.FloatValue', 0.1), 0.1);
  assert.deepEqual(canonicalJson('google.protobuf.DoubleValue', 'NaN'), 'NaN');
});

test('unknown fields, enum names and types are errors naming the path', () => {
  throwsAt(() => toBinary(LISTENER, { name: 'l', filterChains: [{ filters: [{ name: 'f', typedConfig: { '@type': 'type.googleapis.com/nope.Nope' } }] }] }),
    'filterChains[0].filters[0].typedConfig.@type', /unknown type/);
  throwsAt(() => toBinary(LISTENER, { filterChains: [{}, { filters: [{ name: 'f', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy', statPrefx: 's' } }] }] }),
    'filterChains[1].filters[0].typedConfig.statPrefx', /unknown field "statPrefx" in envoy\.extensions\.filters\.network\.tcp_proxy\.v3\.TcpProxy/);
  throwsAt(() => toBinary(CLUSTER, { type: 'STRICTLY_DNS' }), 'type', /unknown value "STRICTLY_DNS"/);
  throwsAt(() => toBinary(CLUSTER, { connectTimeout: '5' }), 'connectTimeout', /duration/);
  throwsAt(() => toBinary(CLUSTER, { perConnectionBufferLimitBytes: -1 }), 'perConnectionBufferLimitBytes', /out of range/);
  throwsAt(() => toBinary(CLUSTER, { name: 'a', connect_timeout: '1s', connectTimeout: '2s' }), 'connect_timeout', /given twice/);
  throwsAt(() => toBinary(CLUSTER, { type: 'STATIC', clusterType: { name: 'x' } }), 'clusterType', /oneof cluster_discovery_type/);
  throwsAt(() => toBinary(CLUSTER, { typedExtensionProtocolOptions: { 'x.y': { '@type': 'type.googleapis.com/google.protobuf.Struct', value: 1 } } }),
    'typedExtensionProtocolOptions["x.y"].value', /expected an object/);
});

test('decoding skips unknown fields and keeps explicit presence', () => {
  // name = "c" (field 1), then an unknown field 999 (varint), then an empty common_lb_config (27).
  const bytes = Uint8Array.from([0x0a, 0x01, 0x63, 0xb8, 0x3e, 0x05, 0xda, 0x01, 0x00]);
  assert.deepEqual(fromBinary(CLUSTER, bytes), { name: 'c', commonLbConfig: {} });
});

test('binary matches protobuf encoding (field order, packed repeated, zigzag)', () => {
  const bytes = toBinary('envoy.type.v3.Int64Range', { start: '-2', end: 300 });
  assert.deepEqual([...bytes], [0x08, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x10, 0xac, 0x02]);
  const packed = toBinary('envoy.config.route.v3.RetryPolicy', { retriableStatusCodes: [503, 504] });
  assert.deepEqual([...packed], [0x3a, 0x04, 0xf7, 0x03, 0xf8, 0x03]);
  assert.deepEqual(fromBinary('envoy.config.route.v3.RetryPolicy', packed), { retriableStatusCodes: [503, 504] });
  // Unpacked on the wire is accepted too.
  assert.deepEqual(fromBinary('envoy.config.route.v3.RetryPolicy', Uint8Array.from([0x38, 0xf7, 0x03, 0x38, 0xf8, 0x03])), { retriableStatusCodes: [503, 504] });
});
