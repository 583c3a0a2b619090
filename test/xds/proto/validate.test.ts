// protoc-gen-validate rules from Envoy's protos, as Envoy applies them when it accepts a config.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TYPE_URL, checkResource, formatValidationProblem, validate } from '../../../src/xds/proto/index.js';
import { corpusSkipReason, corpusSuiteDir } from '../../support/corpus.js';

function problems(typeUrl: string, json: unknown): string[] {
  return validate(typeUrl, json).map(formatValidationProblem);
}

const endpoint = (address: string, port: number) => ({ endpoint: { address: { socketAddress: { address, portValue: port } } } });

test('a valid resource has no problems', () => {
  assert.deepEqual(problems(TYPE_URL.endpoint, { clusterName: 'c', endpoints: [{ lbEndpoints: [endpoint('1.2.3.4', 80)] }] }), []);
});

test('absent implicit fields are checked with their default value; oneof members only when set', () => {
  assert.deepEqual(problems(TYPE_URL.endpoint, { endpoints: [{ lbEndpoints: [endpoint('', 80), { endpoint: { address: { socketAddress: { address: 'a' } } } }] }] }), [
    'endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.address: must be at least 1 characters long, got "" (string.min_len)',
    'endpoints[0].lbEndpoints[1].endpoint.address.socketAddress: one of portValue, namedPort must be set (oneof port_specifier) (oneof.required)',
    'clusterName: must be at least 1 characters long, but it is not set (string.min_len)',
  ]);
});

test('numeric, enum, duration, repeated and message rules', () => {
  const cluster = {
    name: 'c',
    connectTimeout: '0s', // duration.gt 0
    type: 42, // enum.defined_only
    perConnectionBufferLimitBytes: 5,
    loadAssignment: { clusterName: 'c', endpoints: [{ lbEndpoints: [{ ...endpoint('1.1.1.1', 70000), loadBalancingWeight: 0 }] }] },
    healthChecks: [{ timeout: '1s', interval: '1s', httpHealthCheck: { path: '/' } }], // health_checker oneof is set; unhealthy_threshold required
    outlierDetection: { maxEjectionPercent: 101 },
  };
  assert.deepEqual(problems(TYPE_URL.cluster, cluster), [
    'connectTimeout: must be greater than 0s, got "0s" (duration.gt)',
    'type: must be a value defined in envoy.config.cluster.v3.Cluster.DiscoveryType, got 42 (enum.defined_only)',
    'loadAssignment.endpoints[0].lbEndpoints[0].endpoint.address.socketAddress.portValue: must be at most 65535, got 70000 (uint32.lte)',
    'loadAssignment.endpoints[0].lbEndpoints[0].loadBalancingWeight: must be at least 1, got 0 (uint32.gte)',
    'healthChecks[0].unhealthyThreshold: is required (message.required)',
    'healthChecks[0].healthyThreshold: is required (message.required)',
    'outlierDetection.maxEjectionPercent: must be at most 100, got 101 (uint32.lte)',
  ]);
});

test('rules apply inside Any by @type, with map keys in the path', () => {
  const route = {
    name: 'r',
    virtualHosts: [{
      name: 'vh',
      domains: ['*'],
      routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, typedPerFilterConfig: { 'envoy.filters.http.local_ratelimit': {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit',
      } } }],
      requestHeadersToAdd: [{ header: { key: 'bad\nheader', value: 'v' } }], // strict: false, so only NUL, CR, LF are refused
    }],
  };
  assert.deepEqual(problems(TYPE_URL.route, route), [
    'virtualHosts[0].routes[0].typedPerFilterConfig["envoy.filters.http.local_ratelimit"].statPrefix: must be at least 1 characters long, but it is not set (string.min_len)',
    'virtualHosts[0].requestHeadersToAdd[0].header.key: must be an HTTP header name (no NUL, CR or LF), got "bad\\nheader" (string.well_known_regex)',
  ]);
});

test('ORCA out-of-band overrides carry upstream numbers and rules', () => {
  const cswrr = (oob: object) => ({
    name: 'c', type: 'EDS', edsClusterConfig: { edsConfig: { ads: {} } },
    loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: 'envoy.load_balancing_policies.client_side_weighted_round_robin', typedConfig: {
      '@type': 'type.googleapis.com/envoy.extensions.load_balancing_policies.client_side_weighted_round_robin.v3.ClientSideWeightedRoundRobin',
      enableOobLoadReport: true, oobReportingConfig: oob,
    } } }] },
  });
  const ok = checkResource(TYPE_URL.cluster, cswrr({ portValue: 9100, authority: 'orca.example', transportSocketMatchCriteria: { useMTLS: true } }));
  assert.deepEqual(ok.problems, []);
  // port_value = 1 (varint 9100 = 0x8c 0x47), authority = 2 (length-delimited).
  const hex = Buffer.from(ok.bytes!).toString('hex');
  assert.ok(hex.includes('088c47') && hex.includes('120c' + Buffer.from('orca.example').toString('hex')), hex);
  assert.match(problems(TYPE_URL.cluster, cswrr({ portValue: 70000 })).join('\n'), /oobReportingConfig\.portValue: .*uint32\.lte/);
});

test('checkResource reports the codec error and returns bytes when it can encode', () => {
  const bad = checkResource(TYPE_URL.listener, { name: 'l', adress: {} });
  assert.deepEqual(bad.problems.map(formatValidationProblem), ['adress: unknown field "adress" in envoy.config.listener.v3.Listener (schema)']);
  assert.equal(bad.bytes, undefined);
  const good = checkResource(TYPE_URL.listener, { name: 'l', address: { socketAddress: { address: '0.0.0.0', portValue: 80 } } });
  assert.deepEqual(good.problems, []);
  assert.ok(good.bytes && good.bytes.length > 0);
});

test('every resource of the xds corpus passes the rules (Envoy Gateway output is valid)', { skip: corpusSuiteDir('xds') ? false : corpusSkipReason }, () => {
  const dir = corpusSuiteDir('xds')!;
  const lists: Record<string, string> = { listeners: TYPE_URL.listener, routes: TYPE_URL.route, clusters: TYPE_URL.cluster, endpoints: TYPE_URL.endpoint, secrets: TYPE_URL.secret };
  const found: string[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.expected.json'))) {
    const expected = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown[]>;
    for (const [list, typeUrl] of Object.entries(lists)) {
      for (const r of expected[list] ?? []) for (const p of validate(typeUrl, r)) found.push(`${file} ${list}: ${formatValidationProblem(p)}`);
    }
  }
  assert.deepEqual(found, []);
});
