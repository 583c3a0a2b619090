// Fastify with @fastify/http-proxy: one proxy registration per route (its prefix, and the
// virtual host as a route constraint), each forwarding through its undici keep-alive pool.
//   node dist/bench/proxy/servers/fastify-proxy.js <config.json>
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance } from 'fastify';
import proxy from '@fastify/http-proxy';
import type { NodePeerConfig } from '../peers/node.js';

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as NodePeerConfig;
// One type for both: the HTTPS instance differs only in its server's type.
const app = (config.tls
  ? Fastify({ logger: false, keepAliveTimeout: 300_000, https: { cert: config.tls.cert, key: config.tls.key } })
  : Fastify({ logger: false, keepAliveTimeout: 300_000 })) as unknown as FastifyInstance;
for (const vh of config.hosts) {
  for (const r of vh.routes) {
    const prefix = r.prefix === '/' ? '/' : r.prefix.slice(0, -1);
    await app.register(proxy, {
      upstream: `http://127.0.0.1:${config.backendPort}`,
      prefix,
      rewritePrefix: prefix,
      ...(vh.domain === '*' ? {} : { constraints: { host: vh.domain } }),
      undici: { connections: 4096, pipelining: 1, keepAliveTimeout: 300_000 },
    });
  }
}
await app.listen({ port: config.port, host: '127.0.0.1' });
process.on('SIGTERM', () => process.exit(0));
