// Small, valid xDS resources and snapshots for the server tests, and the server they talk to.
import { after, before } from 'node:test';
import { TYPE_URL } from '../../../src/xds/proto/index.js';
import type { Nack } from '../../../src/xds/server/connection.js';
import { XdsServer } from '../../../src/xds/server/server.js';
import { type Snapshot, makeSnapshot } from '../../../src/xds/server/snapshot.js';
import { RawAdsClient } from './raw-client.js';

export const cluster = (name: string, timeout = '5s') => ({
  name,
  type: 'EDS',
  connectTimeout: timeout,
  edsClusterConfig: { edsConfig: { ads: {}, resourceApiVersion: 'V3' } },
});

export const endpoints = (name: string, ...ports: number[]) => ({
  clusterName: name,
  endpoints: [{ lbEndpoints: ports.map((p) => ({ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: p } } } })) }],
});

export const listener = (name: string, port: number, route = name) => ({
  name,
  address: { socketAddress: { address: '0.0.0.0', portValue: port } },
  filterChains: [{
    filters: [{
      name: 'envoy.filters.network.http_connection_manager',
      typedConfig: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        statPrefix: name,
        rds: { routeConfigName: route, configSource: { ads: {}, resourceApiVersion: 'V3' } },
        httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
      },
    }],
  }],
});

export const route = (name: string, clusterName: string) => ({
  name,
  virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: clusterName } }] }],
});

export interface Config {
  clusters?: unknown[];
  endpoints?: unknown[];
  listeners?: unknown[];
  routes?: unknown[];
  secrets?: unknown[];
}

export function snapshot(version: string, c: Config): Snapshot {
  const { snapshot: s, problems } = makeSnapshot(version, {
    [TYPE_URL.cluster]: c.clusters ?? [],
    [TYPE_URL.endpoint]: c.endpoints ?? [],
    [TYPE_URL.listener]: c.listeners ?? [],
    [TYPE_URL.route]: c.routes ?? [],
    [TYPE_URL.secret]: c.secrets ?? [],
  });
  if (problems.length) throw new Error(JSON.stringify(problems));
  return s;
}

export const node = (cluster: string, id = `proxy-${cluster}`) => ({ id, cluster });

/** Names of the resources of a response, in order. */
export function names(resources: unknown[] | undefined): string[] {
  return (resources ?? []).map((r) => {
    const o = r as Record<string, unknown>;
    const inner = (o['resource'] as Record<string, unknown> | undefined) ?? o;
    return String(inner['name'] ?? inner['clusterName'] ?? o['name']);
  });
}

/** Two clusters with endpoints and a listener whose route goes to the first. */
export const v1: Config = {
  clusters: [cluster('c1'), cluster('c2')],
  endpoints: [endpoints('c1', 8001), endpoints('c2', 8002)],
  listeners: [listener('l1', 10080)],
  routes: [route('l1', 'c1')],
};

export interface ServerUnderTest {
  server: XdsServer;
  client: RawAdsClient;
  /** NACKs the server reported, in order. */
  nacks: Nack[];
}

/** A server on loopback for the tests of one file (started before them, closed after), with a raw client. */
export function serverForTests(): ServerUnderTest {
  const t = { nacks: [] as Nack[] } as ServerUnderTest;
  before(async () => {
    t.server = new XdsServer({ warn: () => {} });
    t.server.on('nack', (_conn, nack) => t.nacks.push(nack));
    t.client = new RawAdsClient(`127.0.0.1:${await t.server.listen('127.0.0.1:0')}`);
  });
  after(async () => {
    t.client.close();
    await t.server.close();
  });
  return t;
}
