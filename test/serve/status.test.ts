import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusBook } from '../../src/serve/status.js';
import { namedResources, programmedCondition, proxySync, rejectedResources } from '../../src/serve/programmed.js';
import type { ProxyConnection } from '../../src/xds/server/index.js';
import type { ProviderSnapshot } from '../../src/provider/file/provider.js';
import type { AnyObject } from '../../src/provider/object.js';

const LDS = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const CDS = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

function conn(types: Record<string, { sent?: string; acked?: string; nack?: string; nackFirst?: boolean }>): ProxyConnection {
  const m = new Map();
  const t0 = new Date(1000);
  const t1 = new Date(2000);
  for (const [typeUrl, s] of Object.entries(types)) {
    m.set(typeUrl, {
      typeUrl,
      subscribed: '*',
      sentVersion: s.sent,
      ackedVersion: s.acked,
      ackedAt: s.acked ? (s.nackFirst ? t1 : t0) : undefined,
      lastNack: s.nack ? { typeUrl, version: s.sent ?? '', nonce: '1', code: 3, message: s.nack, at: s.nackFirst ? t0 : t1 } : undefined,
    });
  }
  return { id: 1, protocol: 'sotw', peer: 'ipv4:127.0.0.1:1', nodeId: 'node-a', cluster: 'default/eg', connectedAt: new Date(0), types: m };
}

test('a proxy is in sync when every type is ACKed at the version sent; a standing NACK is a rejection', () => {
  assert.equal(proxySync(conn({ [LDS]: { sent: 'v2', acked: 'v2' }, [CDS]: { sent: 'c1', acked: 'c1' } })).inSync, true);
  assert.equal(proxySync(conn({ [LDS]: { sent: 'v2', acked: 'v1' } })).inSync, false);
  assert.equal(proxySync(conn({})).inSync, false);
  const rejecting = proxySync(conn({ [LDS]: { sent: 'v2', acked: 'v1', nack: 'bad listener' } }));
  assert.equal(rejecting.inSync, false);
  assert.equal(rejecting.nack?.message, 'bad listener');
  // A NACK followed by an ACK of a newer version is history.
  const recovered = proxySync(conn({ [LDS]: { sent: 'v3', acked: 'v3', nack: 'old', nackFirst: true } }));
  assert.equal(recovered.inSync, true);
  assert.equal(recovered.nack, undefined);
});

test('the Programmed condition follows the proxies', () => {
  const base = { irKey: 'default/eg', version: 'v1' };
  assert.deepEqual(programmedCondition({ irKey: 'k', proxies: [] }).reason, 'Pending');
  assert.match(programmedCondition({ ...base, proxies: [] }).message, /Waiting for a proxy to connect/);
  const inSync = proxySync(conn({ [LDS]: { sent: 'v', acked: 'v' } }));
  assert.deepEqual(programmedCondition({ ...base, proxies: [inSync] }).status, 'True');
  const behind = proxySync(conn({ [LDS]: { sent: 'v', acked: 'u' } }));
  assert.match(programmedCondition({ ...base, proxies: [inSync, behind] }).message, /1 of 2 proxies/);
  const nack = proxySync(conn({ [LDS]: { sent: 'v', nack: 'listener x: port in use' } }));
  const c = programmedCondition({ ...base, proxies: [inSync, nack] });
  assert.equal(c.reason, 'Invalid');
  assert.match(c.message, /node-a rejected the Listener configuration: listener x: port in use/);
  assert.equal(programmedCondition({ ...base, proxies: [inSync], translationError: 'boom' }).reason, 'Invalid');
});

test('resources named in a proxy message are found by their xDS names', () => {
  assert.deepEqual(namedResources('route default/eg/http: virtual host x: route httproute/team/web/rule/0/match/1/*: bad regex; cluster securitypolicy/default/auth/jwt/0: no'), [
    { kind: 'HTTPRoute', namespace: 'team', name: 'web' },
    { kind: 'SecurityPolicy', namespace: 'default', name: 'auth' },
  ]);
});

function providerSnapshot(objects: AnyObject[]): ProviderSnapshot {
  return {
    version: 1,
    objects: new Map(objects.map((o) => [`${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`, { object: o, place: { file: 'x.yaml' } }])),
    problems: [{ message: 'malformed YAML: oops', place: { file: 'bad.yaml', line: 3 } }],
    files: [],
    configs: [],
  };
}

test('the status book merges classes, stamps conditions and lays the proxies over them', () => {
  let now = new Date('2026-01-01T00:00:00Z');
  const book = new StatusBook(() => now);
  const gateway = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'eg', namespace: 'default', generation: 3 } };
  const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'web', namespace: 'default', generation: 2 } };
  book.setProvider(providerSnapshot([gateway, route]));
  const cond = (type: string, status: string, reason: string) => ({ type, status, reason, message: '', lastTransitionTime: null });
  const parent = (name: string) => ({ parentRef: { name }, controllerName: 'c', conditions: [cond('Accepted', 'True', 'Accepted')] });
  book.setClass('eg', {
    objects: [
      { ...gateway, status: { conditions: [cond('Accepted', 'True', 'Accepted'), cond('Programmed', 'False', 'AddressNotAssigned')] } },
      { ...route, status: { parents: [parent('eg')] } },
    ],
    gatewayKeys: new Map([['Gateway default/eg', 'default/eg']]),
  });
  book.setClass('other', { objects: [{ ...route, status: { parents: [parent('other-gw')] } }], gatewayKeys: new Map() });

  let view = book.view();
  assert.equal(view.problems[0]!.text, 'bad.yaml:3: malformed YAML: oops');
  const gw = () => view.resources.find((r) => r.kind === 'Gateway')!.status as any;
  const rt = () => view.resources.find((r) => r.kind === 'HTTPRoute')!.status as any;
  assert.deepEqual(rt().parents.map((p: any) => p.parentRef.name), ['eg', 'other-gw']);
  const programmed = () => gw().conditions.find((c: any) => c.type === 'Programmed');
  assert.equal(programmed().reason, 'Pending');
  assert.equal(programmed().observedGeneration, 3);
  assert.equal(programmed().lastTransitionTime, '2026-01-01T00:00:00Z');

  // The proxy ACKs: Programmed, with an address; the time moves with the status.
  now = new Date('2026-01-01T00:01:00Z');
  book.setProgress('default/eg', { irKey: 'default/eg', version: 'v', proxies: [proxySync(conn({ [LDS]: { sent: 'v', acked: 'v' } }))] });
  view = book.view();
  assert.equal(programmed().status, 'True');
  assert.equal(programmed().lastTransitionTime, '2026-01-01T00:01:00Z');
  assert.deepEqual(gw().addresses, [{ type: 'IPAddress', value: '127.0.0.1' }]);
  const accepted = gw().conditions.find((c: any) => c.type === 'Accepted');
  assert.equal(accepted.lastTransitionTime, '2026-01-01T00:00:00Z');

  // The proxy rejects a route: the Gateway and that route's parent entry say so.
  now = new Date('2026-01-01T00:02:00Z');
  book.setProgress('default/eg', { irKey: 'default/eg', version: 'w', proxies: [proxySync(conn({ [LDS]: { sent: 'w', acked: 'v', nack: 'route httproute/default/web/rule/0/match/0/x: bad' } }))] });
  view = book.view();
  assert.equal(programmed().reason, 'Invalid');
  const routeProgrammed = rt().parents[0].conditions.find((c: any) => c.type === 'Programmed');
  assert.equal(routeProgrammed.status, 'False');
  assert.match(routeProgrammed.message, /httproute\/default\/web/);
  assert.equal(routeProgrammed.observedGeneration, 2);
  assert.equal(rt().parents[1].conditions.find((c: any) => c.type === 'Programmed'), undefined);

  // A translator-side reason for not being programmed stands.
  book.setClass('eg', {
    objects: [{ ...gateway, status: { conditions: [cond('Accepted', 'False', 'ListenersNotValid'), cond('Programmed', 'False', 'Invalid')] } }],
    gatewayKeys: new Map([['Gateway default/eg', 'default/eg']]),
  });
  view = book.view();
  assert.equal(programmed().reason, 'Invalid');
  assert.equal(programmed().message, '');
});

test('a rejection is traced through the rejected resource to the Gateway API resources on its path', () => {
  const routeConfig = {
    name: 'default/eg/http',
    virtualHosts: [
      {
        name: 'default/eg/http/www',
        metadata: { filterMetadata: { 'envoy-gateway': { resources: [{ kind: 'Gateway', namespace: 'default', name: 'eg' }] } } },
        routes: [
          { name: 'httproute/default/first/rule/0/match/0/www', match: { prefix: '/' } },
          { name: 'grpcroute/team/second/rule/0/match/0/www', metadata: { filterMetadata: { 'envoy-gateway': { resources: [{ kind: 'GRPCRoute', namespace: 'team', name: 'second' }] } } }, match: { prefix: '/x' } },
        ],
      },
    ],
  };
  const snapshot = {
    version: 'v',
    types: new Map([['type.googleapis.com/envoy.config.route.v3.RouteConfiguration', { typeUrl: '', version: '', resources: new Map([['default/eg/http', { name: 'default/eg/http', version: '', json: routeConfig, sotwChunk: new Uint8Array(), deltaChunk: new Uint8Array() }]]) }]]),
  };
  const found = rejectedResources(snapshot, 'RouteConfiguration default/eg/http: virtualHosts[0].routes[1].match.prefix: unsupported');
  assert.deepEqual(found, [{ kind: 'GRPCRoute', namespace: 'team', name: 'second' }]);
  assert.deepEqual(rejectedResources(undefined, 'cluster httproute/default/first/rule/0: bad'), [{ kind: 'HTTPRoute', namespace: 'default', name: 'first' }]);
});

test('a route removed and created again starts its conditions afresh; a status stamped once is not walked again', () => {
  let now = new Date('2026-01-01T00:00:00Z');
  const book = new StatusBook(() => now);
  const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'web', namespace: 'default', generation: 1 } };
  const withStatus = () => ({ ...route, status: { parents: [{ parentRef: { name: 'eg' }, controllerName: 'c', conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '', lastTransitionTime: null }] }] } });
  const accepted = () => (book.view().resources.find((r) => r.kind === 'HTTPRoute')?.status as any)?.parents[0].conditions[0];
  book.setProvider(providerSnapshot([route]));
  book.setClass('eg', { objects: [withStatus()], gatewayKeys: new Map() });
  assert.equal(accepted().lastTransitionTime, '2026-01-01T00:00:00Z');
  // Later views (proxy events) leave a stamped status as it is.
  now = new Date('2026-01-01T00:01:00Z');
  book.setProgress('default/eg', { irKey: 'default/eg', proxies: [] });
  assert.equal(accepted().lastTransitionTime, '2026-01-01T00:00:00Z');
  // Removed, then back: a new object, a new transition time.
  book.setProvider(providerSnapshot([]));
  book.setClass('eg', { objects: [], gatewayKeys: new Map() });
  book.view();
  now = new Date('2026-01-01T00:02:00Z');
  book.setProvider(providerSnapshot([route]));
  book.setClass('eg', { objects: [withStatus()], gatewayKeys: new Map() });
  assert.equal(accepted().lastTransitionTime, '2026-01-01T00:02:00Z');
});
