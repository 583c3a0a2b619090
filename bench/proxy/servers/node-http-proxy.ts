// A minimal reverse proxy on node:http, as a Node.js user would write one: virtual hosts in a
// Map, path prefixes tried in order, requests streamed through a keep-alive agent.
//   node dist/bench/proxy/servers/node-http-proxy.js <config.json>
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { NodePeerConfig } from '../peers/node.js';

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as NodePeerConfig;
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 4096 });
const byDomain = new Map(config.hosts.map((vh) => [vh.domain, vh.routes]));
const catchAll = byDomain.get('*');

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const routes = byDomain.get(host) ?? catchAll;
  const url = req.url ?? '/';
  const route = routes?.find((r) => url.startsWith(r.prefix));
  if (!route) {
    res.writeHead(404).end();
    return;
  }
  const upstream = http.request({ host: '127.0.0.1', port: config.backendPort, method: req.method, path: url, headers: req.headers, agent }, (ures) => {
    res.writeHead(ures.statusCode ?? 502, ures.headers);
    ures.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}

const server = config.tls ? https.createServer({ cert: config.tls.cert, key: config.tls.key }, handle) : http.createServer(handle);
server.keepAliveTimeout = 300_000;
server.listen(config.port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
