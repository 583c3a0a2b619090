// The Node.js peers: a minimal node:http proxy with a keep-alive agent, and Fastify with
// @fastify/http-proxy (undici pools). Each runs as its own process from dist/bench/proxy/servers.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPinned, waitForPort } from '../../common/proc.js';
import { routingTable } from '../scenarios.js';
import type { Peer, PeerContext } from './types.js';

const servers = join(dirname(fileURLToPath(import.meta.url)), '..', 'servers');

/** What the peer programs read: where to listen, the routes, and the backend. */
export interface NodePeerConfig {
  port: number;
  backendPort: number;
  tls?: { cert: string; key: string };
  hosts: ReturnType<typeof routingTable>;
}

function nodePeer(id: string, label: string, program: string, needs?: string, unsupported?: Peer['unsupported']): Peer {
  return {
    id,
    label,
    kind: 'node',
    unsupported,
    missing() {
      if (!needs) return undefined;
      try {
        createRequire(import.meta.url).resolve(needs);
        return undefined;
      } catch {
        return `${needs} is not installed (npm install)`;
      }
    },
    async start(ctx: PeerContext) {
      const config: NodePeerConfig = {
        port: ctx.port,
        backendPort: ctx.backendPort,
        tls: ctx.scenario.tls ? { cert: ctx.tls.cert, key: ctx.tls.key } : undefined,
        hosts: routingTable(ctx.scenario),
      };
      const file = join(ctx.dir, `${id}.json`);
      writeFileSync(file, JSON.stringify(config));
      const p = startPinned(label, ctx.cpu, process.execPath, [join(servers, program), file]);
      await waitForPort(p, ctx.port);
      return p;
    },
  };
}

export const nodeHttpPeer = nodePeer('node-http', 'node:http proxy', 'node-http-proxy.js');
// Fastify's router (find-my-way) takes at most 31 handlers per path with constraints, and
// virtual hosts are host constraints on the same path.
export const fastifyPeer = nodePeer('fastify', '@fastify/http-proxy', 'fastify-proxy.js', '@fastify/http-proxy',
  (s) => (s.vhosts > 31 ? 'n/a: Fastify routes at most 31 virtual hosts per path (find-my-way constraint limit)' : undefined));
