// The proxy's admin endpoint (bootstrap `admin.address`, or --admin-address), with Envoy's paths
// and output formats: /ready, /server_info, /stats (text or ?format=json, filter, usedonly),
// /stats/prometheus, /config_dump (include_eds, resource, name_regex), /clusters (text or
// ?format=json), /listeners (text or ?format=json), and the state-changing POSTs
// /healthcheck/fail, /healthcheck/ok, /drain_listeners and /quitquitquit.
import http from 'node:http';
import type { Json } from '../config/json.js';
import type { Cluster } from '../upstream/cluster.js';
import { healthState } from '../http/filters/health_check.js';
import { renderJson, renderPrometheus, renderText, type RenderOptions } from '../stats/render.js';
import type { StatsSnapshot } from '../stats/snapshot.js';
import { clustersJson, clustersText } from './clusters.js';
import type { ConfigDumpQuery } from './config_dump.js';

/** Envoy's server states (envoy.admin.v3.ServerInfo.State). */
export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

export interface ListenerStatus { name: string; address: string; port: number; pipe: string | undefined; protocol: 'TCP' | 'UDP' }

/** What the admin endpoint reads from (one proxy process, or the primary of several). */
export interface AdminBackend {
  state(): ServerState;
  stats(): Promise<StatsSnapshot>;
  clusters(): Iterable<Cluster>;
  dynamic(): boolean;
  configDump(q: ConfigDumpQuery): Json;
  listeners(): ListenerStatus[];
  serverInfo(): Json;
  /** Stop accepting on every listener and drain (POST /drain_listeners). */
  drainListeners(): Promise<void>;
  /** Exit (POST /quitquitquit). */
  quit(): void;
}

const MUTATING = new Set(['/healthcheck/fail', '/healthcheck/ok', '/drain_listeners', '/quitquitquit']);

function regex(q: URLSearchParams, name: string): RegExp | undefined | Error {
  const v = q.get(name);
  if (!v) return undefined;
  try {
    return new RegExp(v);
  } catch (err) {
    return err as Error;
  }
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly backend: AdminBackend) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, 'text/plain', `${(err as Error).message}\n`);
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  async listen(address: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: address, port, exclusive: true }, () => { this.server.removeListener('error', reject); resolve(); });
    });
    return (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname;
    const q = url.searchParams;
    if (MUTATING.has(path) && req.method !== 'POST') { send(res, 405, 'text/plain', 'This endpoint requires POST.\n'); return; }
    const b = this.backend;
    switch (path) {
      case '/ready': {
        const state = b.state();
        send(res, state === 'LIVE' ? 200 : 503, 'text/plain', `${state}\n`);
        return;
      }
      case '/server_info':
        send(res, 200, 'application/json', `${JSON.stringify(b.serverInfo(), null, 2)}\n`);
        return;
      case '/stats':
      case '/stats/prometheus': {
        const filter = regex(q, 'filter');
        if (filter instanceof Error) { send(res, 400, 'text/plain', `Invalid re2 regex: ${filter.message}\n`); return; }
        const o: RenderOptions = { filter, usedOnly: q.has('usedonly') };
        const snap = await b.stats();
        if (path === '/stats/prometheus' || q.get('format') === 'prometheus') send(res, 200, 'text/plain; version=0.0.4', renderPrometheus(snap, o));
        else if (q.get('format') === 'json') send(res, 200, 'application/json', renderJson(snap, o));
        else send(res, 200, 'text/plain', renderText(snap, o));
        return;
      }
      case '/config_dump': {
        const nameRegex = regex(q, 'name_regex');
        if (nameRegex instanceof Error) { send(res, 400, 'text/plain', `Invalid regex: ${nameRegex.message}\n`); return; }
        const dump = b.configDump({ includeEds: q.has('include_eds'), resource: q.get('resource') ?? undefined, nameRegex });
        send(res, 200, 'application/json', `${JSON.stringify(dump, null, 2)}\n`);
        return;
      }
      case '/clusters': {
        const snap = await b.stats();
        if (q.get('format') === 'json') send(res, 200, 'application/json', `${JSON.stringify(clustersJson(b.clusters(), snap, b.dynamic()), null, 2)}\n`);
        else send(res, 200, 'text/plain', clustersText(b.clusters(), snap, b.dynamic()));
        return;
      }
      case '/listeners': {
        const ls = b.listeners();
        if (q.get('format') === 'json') {
          send(res, 200, 'application/json', `${JSON.stringify({ listenerStatuses: ls.map((l) => ({
            name: l.name,
            localAddress: l.pipe ? { pipe: { path: l.pipe } } : { socketAddress: { address: l.address, portValue: l.port, ...(l.protocol === 'UDP' ? { protocol: 'UDP' } : {}) } },
          })) }, null, 2)}\n`);
        } else send(res, 200, 'text/plain', ls.map((l) => `${l.name}::${l.pipe ?? (l.address.includes(':') ? `[${l.address}]:${l.port}` : `${l.address}:${l.port}`)}\n`).join(''));
        return;
      }
      case '/healthcheck/fail':
        healthState.failing = true;
        send(res, 200, 'text/plain', 'OK\n');
        return;
      case '/healthcheck/ok':
        healthState.failing = false;
        send(res, 200, 'text/plain', 'OK\n');
        return;
      case '/drain_listeners':
        send(res, 200, 'text/plain', 'OK\n');
        void b.drainListeners();
        return;
      case '/quitquitquit':
        send(res, 200, 'text/plain', 'OK\n');
        setImmediate(() => b.quit());
        return;
      case '/':
        send(res, 200, 'text/plain', ['/ready', '/server_info', '/stats', '/stats/prometheus', '/config_dump', '/clusters', '/listeners', '/healthcheck/fail', '/healthcheck/ok', '/drain_listeners', '/quitquitquit'].join('\n') + '\n');
        return;
      default:
        send(res, 404, 'text/plain', `invalid path. admin commands are: see /\n`);
    }
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache, max-age=0', 'x-content-type-options': 'nosniff', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
