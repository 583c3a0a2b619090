// How fast `egts serve`'s control plane turns files into a served snapshot at scale: N HTTPRoutes
// (default 1000, or argv[2]) in one folder, each with its own hostname and backend; measures the
// first load (read, validate, translate, xDS, encode) and an edit of one route until its new
// snapshot is served. Not part of npm test: node dist/bench/serve-reload.bench.js [N]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../src/serve/control-plane.js';
import { defaultConfig } from '../src/serve/config.js';
import { createLogger } from '../src/serve/log.js';

const n = Number(process.argv[2] ?? 1000);
const dir = mkdtempSync(join(tmpdir(), 'egts-bench-'));
const home = mkdtempSync(join(tmpdir(), 'egts-bench-home-'));
const route = (i: number, prefix = '/') => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: r${i}
spec:
  parentRefs: [{name: eg}]
  hostnames: [h${i}.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: ${prefix}}}]
    backendRefs: [{group: gateway.envoyproxy.io, kind: Backend, name: b${i % 50}}]
`;
writeFileSync(join(dir, 'gateway.yaml'), `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: eg}
spec:
  gatewayClassName: eg
  listeners: [{name: http, protocol: HTTP, port: 18081}]
`);
writeFileSync(join(dir, 'backends.yaml'), Array.from({ length: 50 }, (_, i) => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata: {name: b${i}}
spec: {endpoints: [{ip: {address: 127.0.0.1, port: ${20000 + i}}}]}
`).join('---\n'));
const routes = Array.from({ length: n }, (_, i) => route(i));
writeFileSync(join(dir, 'routes.yaml'), routes.join('---\n'));

const cp = new ControlPlane({
  config: { ...defaultConfig([dir]), admin: { host: '127.0.0.1', port: 0 } },
  home,
  xds: { host: '127.0.0.1', port: 0, tls: false },
  proxy: { kind: 'none' },
  watch: { resyncMs: 0 },
  log: createLogger((process.env.LOG as 'debug') ?? 'error'),
});
let t0 = performance.now();
await cp.start();
const first = performance.now() - t0;
const version = () => cp.server.cache.get('default/eg')?.version;
const v1 = version();
routes[n - 1] = route(n - 1, '/edited');
t0 = performance.now();
writeFileSync(join(dir, 'routes.yaml'), routes.join('---\n'));
while (version() === v1) await new Promise((r) => setTimeout(r, 5));
const edit = performance.now() - t0;
console.log(`${n} routes: first load ${first.toFixed(0)} ms; an edit served in ${edit.toFixed(0)} ms (includes the 100 ms debounce)`);
await cp.stop(1000);
rmSync(dir, { recursive: true, force: true });
rmSync(home, { recursive: true, force: true });
