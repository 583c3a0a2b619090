import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem } from '../../src/api/place.js';
import { readConfig } from '../../src/serve/config.js';

const base = {
  apiVersion: 'gateway.envoyproxy.io/v1alpha1',
  kind: 'EnvoyGateway',
  gateway: { controllerName: 'example.com/gateway' },
  provider: { type: 'Custom', custom: { resource: { type: 'File', file: { paths: ['/etc/gw'] } }, infrastructure: { type: 'Host', host: {} } } },
  admin: { address: { host: '0.0.0.0', port: 19100 } },
  logging: { level: { default: 'debug' } },
};

test('an EnvoyGateway configuration: Custom provider with File resources and Host infrastructure', () => {
  const { config, problems } = readConfig(base, { file: 'eg.yaml' }, ['/cli']);
  assert.deepEqual(problems, []);
  assert.equal(config.controllerName, 'example.com/gateway');
  assert.deepEqual(config.paths, ['/cli', '/etc/gw']);
  assert.deepEqual(config.admin, { host: '0.0.0.0', port: 19100 });
  assert.equal(config.logLevel, 'debug');
  // Without extensionApis, the standalone default enables Backends; given, it means what it says.
  assert.equal(config.enableBackend, true);
  assert.equal(readConfig({ ...base, extensionApis: { enableEnvoyPatchPolicy: true } }, {}, []).config.enableBackend, false);
});

test('what egts serve cannot run is reported with its field', () => {
  const { problems } = readConfig({ ...base, provider: { type: 'Kubernetes' }, logging: { level: { default: 'loud' } } }, { file: 'eg.yaml', line: 1 }, []);
  const text = problems.map(formatProblem).join('\n');
  assert.match(text, /eg\.yaml:1 EnvoyGateway: provider\.type: egts serve runs the Custom provider/);
  assert.match(text, /logging\.level\.default: must be one of/);
});

test('rateLimit: off without the section; no backend → memory; Redis host:port gets its scheme', () => {
  assert.equal(readConfig(base, {}, []).config.rateLimit, undefined);
  assert.deepEqual(readConfig({ ...base, rateLimit: {} }, {}, []).config.rateLimit, { failClosed: false });
  const { config, problems } = readConfig({ ...base, rateLimit: { backend: { type: 'Redis', redis: { url: 'redis.example:6379' } }, timeout: '50ms', failClosed: true } }, {}, []);
  assert.deepEqual(problems, []);
  assert.deepEqual(config.rateLimit, { redisUrl: 'redis://redis.example:6379', timeout: '50ms', failClosed: true });
  const bad = readConfig({ ...base, rateLimit: { backend: { type: 'Memcached' }, timeout: 'soon', failClosed: 'yes' } }, { file: 'eg.yaml' }, []).problems.map(formatProblem).join('\n');
  assert.match(bad, /rateLimit\.backend\.type: only Redis is supported/);
  assert.match(bad, /rateLimit\.timeout: must be a duration/);
  assert.match(bad, /rateLimit\.failClosed: must be true or false/);
});
