// A configuration the proxy cannot apply is refused with a message naming the resource and the
// field: unknown filters and typed configs are never silently ignored.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cluster, httpListener, routeConfig } from './xds.js';
import { proxyRejects } from './support.js';

test('an unknown HTTP filter is refused, naming the listener and the field', async () => {
  const out = await proxyRejects({
    listeners: [httpListener('l', 'r', { filters: [{ name: 'envoy.filters.http.unknown', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.unknown.v3.Unknown' } }] })],
    routes: [routeConfig('r', [])],
  });
  assert.match(out, /^exit 1/);
  assert.match(out, /Listener l: defaultFilterChain\.filters\[0\]\.typedConfig\.httpFilters\[0\]\.typedConfig: unsupported HTTP filter envoy\.filters\.http\.unknown/);
});

test('an unknown load balancing policy and a bad regex are refused', async () => {
  const out = await proxyRejects({
    clusters: [cluster('c', { loadBalancingPolicy: { policies: [{ typedExtensionConfig: { name: 'x', typedConfig: { '@type': 'type.googleapis.com/x.Y' } } }] } })],
    routes: [routeConfig('r', [{ name: 'v', domains: ['*'], routes: [{ match: { safeRegex: { regex: '(a' } }, route: { cluster: 'c' } }] }])],
  });
  assert.match(out, /Cluster c: loadBalancingPolicy\.policies: no supported load balancing policy \(x\.Y\)/);
  assert.match(out, /RouteConfiguration r: virtualHosts\[0\]\.routes\[0\]\.match\.safeRegex\.regex: invalid RE2 regex/);
});
