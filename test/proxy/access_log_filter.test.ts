// Access log filters as Envoy evaluates them, on the StreamInfo of a request or a connection.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/proxy/config/errors.js';
import { compileAccessLogFilter } from '../../src/proxy/http/access_log_filter.js';
import { ConnectionInfo } from '../../src/proxy/listener/connection_info.js';

function info(o: Partial<ConnectionInfo> = {}): ConnectionInfo {
  const i = new ConnectionInfo({ remoteAddress: '10.0.0.1', remotePort: 1, localAddress: '10.0.0.2', localPort: 2, serverName: '', tls: false });
  return Object.assign(i, o);
}

test('status code, response flags and combinations', () => {
  const ge500 = compileAccessLogFilter({ statusCodeFilter: { comparison: { op: 'GE', value: { defaultValue: 500, runtimeKey: 'k' } } } }, 'f');
  assert.ok(ge500(info({ responseCode: 503 })));
  assert.ok(!ge500(info({ responseCode: 404 })));
  const nr = compileAccessLogFilter({ responseFlagFilter: { flags: ['NR'] } }, 'f');
  assert.ok(nr(info({ responseFlags: 'NR' })));
  assert.ok(!nr(info({ responseFlags: 'UF,URX' })));
  assert.ok(!nr(info()));
  const any = compileAccessLogFilter({ responseFlagFilter: {} }, 'f');
  assert.ok(any(info({ responseFlags: 'UF,URX' })) && !any(info()));
  const and = compileAccessLogFilter({ andFilter: { filters: [{ responseFlagFilter: { flags: ['UF'] } }, { statusCodeFilter: { comparison: { op: 'EQ', value: { defaultValue: 503 } } } }] } }, 'f');
  assert.ok(and(info({ responseFlags: 'UF', responseCode: 503 })));
  assert.ok(!and(info({ responseFlags: 'UF', responseCode: 504 })));
  const or = compileAccessLogFilter({ orFilter: { filters: [{ responseFlagFilter: { flags: ['UF'] } }, { statusCodeFilter: { comparison: { op: 'EQ', value: { defaultValue: 200 } } } }] } }, 'f');
  assert.ok(or(info({ responseCode: 200 })) && or(info({ responseFlags: 'UF' })) && !or(info({ responseCode: 201 })));
});

test('headers, gRPC status, health checks, sampling', () => {
  const h = compileAccessLogFilter({ headerFilter: { header: { name: 'x-debug', stringMatch: { exact: '1' } } } }, 'f');
  assert.ok(h(info({ requestHeaders: ['x-debug', '1'] as never })));
  assert.ok(!h(info()));
  const g = compileAccessLogFilter({ grpcStatusFilter: { statuses: ['UNAVAILABLE', 'INTERNAL'] } }, 'f');
  assert.ok(g(info({ responseCode: 200, responseTrailers: ['grpc-status', '14'] as never })));
  assert.ok(!g(info({ responseCode: 200, responseTrailers: ['grpc-status', '0'] as never })));
  assert.ok(g(info({ responseCode: 503 })), '503 without grpc-status is UNAVAILABLE');
  const notHc = compileAccessLogFilter({ notHealthCheckFilter: {} }, 'f');
  assert.ok(!notHc(info({ responseCodeDetails: 'health_check' })) && notHc(info()));
  const never = compileAccessLogFilter({ runtimeFilter: { runtimeKey: 'k', percentSampled: { numerator: 0 } } }, 'f');
  const always = compileAccessLogFilter({ runtimeFilter: { runtimeKey: 'k', percentSampled: { numerator: 100 } } }, 'f');
  assert.ok(!never(info()) && always(info()));
});

test('filters this proxy cannot evaluate are refused with their place', () => {
  assert.throws(() => compileAccessLogFilter({ extensionFilter: { name: 'envoy.access_loggers.extension_filters.cel', typedConfig: {} } }, 'accessLog[0].filter'),
    (e: unknown) => e instanceof ConfigError && e.field === 'accessLog[0].filter.extensionFilter');
  assert.throws(() => compileAccessLogFilter({ responseFlagFilter: { flags: ['XX'] } }, 'f'), /unknown response flag XX/);
  assert.throws(() => compileAccessLogFilter({}, 'f'), /one filter specifier/);
});
