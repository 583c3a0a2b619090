// HAProxy as a reverse proxy peer: one thread, keep-alive on both legs with server connections
// reused across clients (`http-reuse always`), routes and virtual hosts looked up in map files
// (how HAProxy is configured for many routes), one backend per route.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPinned, waitForPort } from '../../common/proc.js';
import { routingTable } from '../scenarios.js';
import { hasCommand } from '../tools.js';
import type { Peer, PeerContext } from './types.js';

export const haproxyPeer: Peer = {
  id: 'haproxy',
  label: 'HAProxy',
  kind: 'native',
  missing: () => (hasCommand('haproxy') ? undefined : 'haproxy is not installed'),
  async start(ctx: PeerContext) {
    const s = ctx.scenario;
    const table = routingTable(s);
    const routes = table.flatMap((vh) => vh.routes);
    let pem = '';
    if (s.tls) {
      pem = join(ctx.dir, 'server.pem');
      writeFileSync(pem, `${ctx.tls.cert}\n${ctx.tls.key}\n`);
    }
    let select = '';
    if (s.vhosts > 1) {
      writeFileSync(join(ctx.dir, 'hosts.map'), table.map((vh) => `${vh.domain} ${vh.routes[0]!.upstream}`).join('\n') + '\n');
      select = `  use_backend %[req.hdr(host),field(1,:),lower,map_str(${ctx.dir}/hosts.map)]`;
    } else if (s.routes > 1) {
      writeFileSync(join(ctx.dir, 'routes.map'), routes.map((r) => `${r.prefix} ${r.upstream}`).join('\n') + '\n');
      select = `  use_backend %[path,map_beg(${ctx.dir}/routes.map)]`;
    }
    const conf = `global
  nbthread 1
  maxconn 4096
  tune.ssl.default-dh-param 2048
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  timeout http-keep-alive 300s
frontend bench
  bind 127.0.0.1:${ctx.port}${s.tls ? ` ssl crt ${pem}` : ''}
${select}
  default_backend ${routes[0]!.upstream}
${routes.map((r) => `backend ${r.upstream}\n  server backend 127.0.0.1:${ctx.backendPort}`).join('\n')}
`;
    const file = join(ctx.dir, 'haproxy.cfg');
    writeFileSync(file, conf);
    const p = startPinned('haproxy', ctx.cpu, 'haproxy', ['-db', '-f', file]);
    await waitForPort(p, ctx.port);
    return p;
  },
};
