// Quick proxy throughput check (not part of `npm test`; the full comparison is `npm run bench:proxy`): wrk at 64 connections against
//   - nginx `return 200` directly (the backend's own ceiling),
//   - nginx as a reverse proxy (reference),
//   - a minimal node:http proxy with a keep-alive agent (the Node.js baseline),
//   - egts proxy with 1 route, 1000 routes (last one matches) and 1000 virtual hosts (last one).
// Each proxy is pinned to one core with taskset when available (wrk and the backend share the
// other), and ratios are computed against numbers measured in the same run.
//
//   npm run -s build && node dist/bench/proxy-quick.js [--duration 10] [--connections 64]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (k: string, d: string) => { const i = args.indexOf(k); return i >= 0 ? args[i + 1]! : d; };
const duration = Number(opt('--duration', '10'));
const connections = Number(opt('--connections', '64'));
const dir = mkdtempSync(join(tmpdir(), 'egts-bench-'));
const children: ChildProcess[] = [];
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const pin = has('taskset') ? ['taskset', '-c', '1'] : [];

process.on('exit', () => { for (const c of children) c.kill('SIGKILL'); });

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function start(cmd: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const c = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } });
  children.push(c);
  return c;
}

async function waitPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => { const s = net.connect(port, '127.0.0.1'); s.on('connect', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port}`);
}

function wrk(port: number, path = '/', host = 'localhost'): { rps: number; p99: string } {
  const wrkCmd = has('taskset') ? ['taskset', '-c', '0', 'wrk'] : ['wrk'];
  const r = spawnSync(wrkCmd[0]!, [...wrkCmd.slice(1), '-t1', `-c${connections}`, `-d${duration}s`, '--latency', '-H', `Host: ${host}`, `http://127.0.0.1:${port}${path}`], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const p99 = /99%\s+(\S+)/.exec(r.stdout)?.[1] ?? '?';
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1];
  if (errors) console.error(`  (${errors} non-2xx responses on ${path})`);
  return { rps, p99 };
}

function egtsConfig(port: number, backend: number, shape: '1-route' | '1000-routes' | '1000-vhosts'): object {
  const routes = shape === '1000-routes'
    ? Array.from({ length: 1000 }, (_, i) => ({ name: `r${i}`, match: { path: `/path/${i}` }, route: { cluster: 'nginx' } }))
    : [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'nginx' } }];
  const vhosts = shape === '1000-vhosts'
    ? Array.from({ length: 1000 }, (_, i) => ({ name: `v${i}`, domains: [`host-${i}.example.com`], routes }))
    : [{ name: 'all', domains: ['*'], routes }];
  return {
    listeners: [{
      name: 'bench', address: { socketAddress: { address: '127.0.0.1', portValue: port } },
      defaultFilterChain: { filters: [{ name: 'envoy.filters.network.http_connection_manager', typedConfig: {
        '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        statPrefix: 'bench', useRemoteAddress: true, normalizePath: true, mergeSlashes: true, serverHeaderTransformation: 'PASS_THROUGH',
        rds: { configSource: { ads: {}, resourceApiVersion: 'V3' }, routeConfigName: 'bench' },
        httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', suppressEnvoyHeaders: true } }],
      } }] },
    }],
    routes: [{ name: 'bench', ignorePortInHostMatching: true, virtualHosts: vhosts }],
    clusters: [{ name: 'nginx', type: 'STATIC', connectTimeout: '1s', loadAssignment: { clusterName: 'nginx', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: backend } } } }] }] } }],
  };
}

async function main(): Promise<void> {
  if (!has('wrk') || !has('nginx')) {
    console.log('proxy-bench: needs wrk and nginx (apt-get install -y wrk nginx); skipped');
    return;
  }
  const [backend, ngxProxy, nodeProxy, egts] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream be { server 127.0.0.1:${backend}; keepalive 256; }
  server { listen 127.0.0.1:${backend}; location / { return 200 "hello world\\n"; } }
}`);
  writeFileSync(join(dir, 'nginx-proxy.conf'), `worker_processes 1; daemon off; pid ${dir}/nginx-proxy.pid; error_log ${dir}/error-proxy.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream be { server 127.0.0.1:${backend}; keepalive 256; }
  server { listen 127.0.0.1:${ngxProxy}; location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}`);
  writeFileSync(join(dir, 'node-proxy.mjs'), `import http from 'node:http';
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: ${backend}, path: req.url, method: req.method, headers: req.headers, agent }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
  up.on('error', () => { res.statusCode = 502; res.end(); });
  req.pipe(up);
}).listen(${nodeProxy}, '127.0.0.1');`);
  start(['taskset', '-c', '0', 'nginx', '-c', join(dir, 'nginx.conf')].filter((x, i) => has('taskset') || i > 2));
  await waitPort(backend);
  const results: Record<string, { rps: number; p99: string }> = {};
  results['nginx direct (backend ceiling)'] = wrk(backend);
  const np = start([...pin, 'nginx', '-c', join(dir, 'nginx-proxy.conf')]);
  await waitPort(ngxProxy);
  results['nginx proxy'] = wrk(ngxProxy);
  np.kill('SIGKILL');
  const nodeP = start([...pin, process.execPath, join(dir, 'node-proxy.mjs')]);
  await waitPort(nodeProxy);
  results['node:http proxy (baseline)'] = wrk(nodeProxy);
  nodeP.kill('SIGKILL');
  for (const shape of ['1-route', '1000-routes', '1000-vhosts'] as const) {
    const cfg = join(dir, `egts-${shape}.json`);
    writeFileSync(cfg, JSON.stringify(egtsConfig(egts, backend, shape)));
    const p = start([...pin, process.execPath, join(root, 'bin', 'egts.js'), 'proxy', '-c', cfg]);
    await waitPort(egts);
    const path = shape === '1000-routes' ? '/path/999' : '/';
    const host = shape === '1000-vhosts' ? 'host-999.example.com' : 'localhost';
    wrk(egts, path, host); // warm-up (JIT)
    results[`egts proxy ${shape}`] = wrk(egts, path, host);
    p.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
  }
  const base = results['node:http proxy (baseline)']!.rps;
  const ngx = results['nginx proxy']!.rps;
  const one = results['egts proxy 1-route']!.rps;
  console.log(`\nwrk -t1 -c${connections} -d${duration}s; proxies pinned to one core: ${pin.length > 0}`);
  for (const [name, r] of Object.entries(results)) {
    console.log(`${name.padEnd(32)} ${r.rps.toFixed(0).padStart(8)} req/s  p99 ${r.p99.padStart(8)}  x baseline ${(r.rps / base).toFixed(2)}  x nginx ${(r.rps / ngx).toFixed(2)}  x 1-route ${(r.rps / one).toFixed(2)}`);
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
