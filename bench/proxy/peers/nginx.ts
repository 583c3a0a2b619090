// nginx as the backend (`return 200`) and as a reverse proxy peer: one worker, upstream
// keep-alive (HTTP/1.1, Connection cleared), one upstream block per route.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPinned, waitForPort, type Proc } from '../../common/proc.js';
import { routingTable } from '../scenarios.js';
import { hasCommand } from '../tools.js';
import type { Peer, PeerContext } from './types.js';

function mainConfig(dir: string, http: string): string {
  return `user root;
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log error;
worker_rlimit_nofile 65536;
events { worker_connections 16384; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server_names_hash_max_size 8192;
  server_names_hash_bucket_size 64;
${http}
}
`;
}

/** The backend every peer forwards to: `return 200` with a short body. */
export async function startBackend(dir: string, port: number, cpu: string): Promise<Proc> {
  const conf = join(dir, 'backend.conf');
  writeFileSync(conf, mainConfig(dir, `  server {
    listen 127.0.0.1:${port} backlog=4096;
    default_type text/plain;
    location / { return 200 "ok\\n"; }
  }`));
  const p = startPinned('backend nginx', cpu, 'nginx', ['-c', conf, '-p', dir, '-e', join(dir, 'error.log')]);
  await waitForPort(p, port);
  return p;
}

export const nginxPeer: Peer = {
  id: 'nginx',
  label: 'nginx',
  kind: 'native',
  missing: () => (hasCommand('nginx') ? undefined : 'nginx is not installed'),
  async start(ctx: PeerContext) {
    const table = routingTable(ctx.scenario);
    const upstreams = table.flatMap((vh) => vh.routes).map((r) => `  upstream ${r.upstream} {
    server 127.0.0.1:${ctx.backendPort};
    keepalive ${Math.max(ctx.scenario.connections, 16)};
    keepalive_requests 100000000;
    keepalive_timeout 300s;
  }`);
    // Socket options (the backlog) may be given once per address: on the default server.
    const listen = (first: boolean) => `listen 127.0.0.1:${ctx.port}${ctx.scenario.tls ? ' ssl' : ''}${first ? ' default_server backlog=4096' : ''}`;
    const tls = ctx.scenario.tls ? `ssl_certificate ${ctx.tls.certFile}; ssl_certificate_key ${ctx.tls.keyFile};` : '';
    const servers = table.map((vh, i) => `  server {
    ${listen(i === 0)};
    server_name ${vh.domain === '*' ? '_' : vh.domain};
    ${tls}
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
${vh.routes.map((r) => `    location ${r.prefix} { proxy_pass http://${r.upstream}; }`).join('\n')}
  }`);
    const conf = join(ctx.dir, 'nginx.conf');
    writeFileSync(conf, mainConfig(ctx.dir, [...upstreams, ...servers].join('\n')));
    const p = startPinned('nginx', ctx.cpu, 'nginx', ['-c', conf, '-p', ctx.dir, '-e', join(ctx.dir, 'error.log')]);
    await waitForPort(p, ctx.port);
    return p;
  },
};
