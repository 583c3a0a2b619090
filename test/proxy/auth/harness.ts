// In-process harness for the security filters: a real Proxy (listeners on loopback, clusters,
// route table) configured with the filters under test, a real backend that echoes what it got,
// and local servers for JWKS, token endpoints and auth services. Nothing is mocked: requests go
// through sockets, the HTTP codec, the filters and the router.
import http from 'node:http';
import type net from 'node:net';
import { CLUSTER, LISTENER, ROUTE, SECRET } from '../../../src/proxy/config/type_urls.js';
import { formatConfigProblem, type ConfigProblem } from '../../../src/proxy/config/errors.js';
import { Proxy } from '../../../src/proxy/proxy.js';

export const typed = (type: string, body: object = {}) => ({ '@type': `type.googleapis.com/${type}`, ...body });

/** A STATIC cluster with loopback endpoints. */
export function staticCluster(name: string, ports: number[], extra: object = {}): object {
  return {
    name, type: 'STATIC', connectTimeout: '1s',
    loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: ports.map((p) => ({ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: p } } } })) }] },
    ...extra,
  };
}

export const h2Options = { typedExtensionProtocolOptions: { 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': typed('envoy.extensions.upstreams.http.v3.HttpProtocolOptions', { explicitHttpConfig: { http2ProtocolOptions: {} } }) } };

export interface RouteSpec {
  name: string;
  prefix: string;
  perFilter?: Record<string, object>;
  cluster?: string;
  /** Route metadata (filterMetadata, ...). */
  metadata?: object;
}

export interface Setup {
  filters: object[];
  routes: RouteSpec[];
  clusters?: object[];
  secrets?: object[];
  hcm?: object;
  /** Virtual host level typed_per_filter_config. */
  vhostPerFilter?: Record<string, object>;
}

export function listenerOf(s: Setup): object {
  return {
    name: 'l',
    address: { socketAddress: { address: '127.0.0.1', portValue: 0 } },
    defaultFilterChain: {
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typedConfig: typed('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
          statPrefix: 'http',
          rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: 'rc' },
          httpFilters: [...s.filters, { name: 'envoy.filters.http.router', typedConfig: typed('envoy.extensions.filters.http.router.v3.Router', { suppressEnvoyHeaders: true }) }],
          useRemoteAddress: true,
          ...(s.hcm ?? {}),
        }),
      }],
    },
  };
}

export function routeConfigOf(s: Setup): object {
  return {
    name: 'rc',
    virtualHosts: [{
      name: 'vh', domains: ['*'],
      ...(s.vhostPerFilter ? { typedPerFilterConfig: s.vhostPerFilter } : {}),
      routes: s.routes.map((r) => ({
        name: r.name,
        match: { prefix: r.prefix },
        route: { cluster: r.cluster ?? 'backend' },
        ...(r.perFilter ? { typedPerFilterConfig: r.perFilter } : {}),
        ...(r.metadata ? { metadata: r.metadata } : {}),
      })),
    }],
  };
}

export interface Running {
  proxy: Proxy;
  port: number;
  backend: Backend;
  close(): Promise<void>;
}

/** Applies the setup to a new proxy; throws with the problems when it is refused. */
export async function startProxy(s: Setup, backend?: Backend): Promise<Running> {
  const b = backend ?? await startBackend();
  const proxy = new Proxy();
  const problems: ConfigProblem[] = await proxy.apply([
    { type: SECRET, resources: s.secrets ?? [], sotw: true },
    { type: CLUSTER, resources: [staticCluster('backend', [b.port]), ...(s.clusters ?? [])], sotw: true },
    { type: ROUTE, resources: [routeConfigOf(s)], sotw: true },
    { type: LISTENER, resources: [listenerOf(s)], sotw: true },
  ]);
  if (problems.length) {
    await proxy.close();
    if (!backend) b.close();
    throw new Error(problems.map(formatConfigProblem).join('\n'));
  }
  return {
    proxy,
    port: proxy.listeners.boundPort('l')!,
    backend: b,
    close: async () => { await proxy.close(); if (!backend) b.close(); },
  };
}

/** What the proxy says about a setup it refuses (empty when it accepts it). */
export async function problemsOf(s: Setup): Promise<string[]> {
  const proxy = new Proxy();
  const problems = await proxy.apply([
    { type: SECRET, resources: s.secrets ?? [], sotw: true },
    { type: CLUSTER, resources: [staticCluster('backend', [1]), ...(s.clusters ?? [])], sotw: true },
    { type: ROUTE, resources: [routeConfigOf(s)], sotw: true },
    { type: LISTENER, resources: [listenerOf(s)], sotw: true },
  ]);
  await proxy.close();
  return problems.map(formatConfigProblem);
}

export interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Backend {
  port: number;
  /** Requests received, in order. */
  seen: Seen[];
  close(): void;
}

/** A backend answering 200 with the request it received as JSON. */
export async function startBackend(): Promise<Backend> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const s: Seen = { method: req.method!, path: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      res.writeHead(200, { 'content-type': 'application/json', 'x-backend': 'yes' });
      res.end(JSON.stringify(s));
    });
  });
  return { ...(await listen(server)), seen };
}

/** Listens on a loopback port; close() also ends kept-alive connections. */
export async function listen(server: net.Server): Promise<{ port: number; close(): void }> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => { (server as http.Server).closeAllConnections?.(); server.close(); },
  };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers: { host: 'www.example.com', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
