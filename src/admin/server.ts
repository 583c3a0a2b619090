// The control plane's admin HTTP server:
//   GET /healthz                      the process is up
//   GET /readyz                       the first configuration is loaded and served (503 otherwise)
//   GET /metrics                      Prometheus metrics of the control plane
//   GET /api/status                   every resource with its status, the problems, the proxies
//   GET /api/status/<kind>[/<namespace>]/<name>   one kind, or one resource (kind case-insensitive,
//                                     singular or plural: gateway, gateways, httproutes...)
//   GET /api/config_dump/<namespace>/<gateway>    what the Gateway's proxies are served, in the
//                                     shape of Envoy's /config_dump (?irKey=<key> for merged gateways)
// It binds to loopback by default: it tells everything about the configuration.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

export interface StatusDocument {
  resources: { kind?: string; metadata: { name: string; namespace?: string } }[];
  [section: string]: unknown;
}

export interface AdminSource {
  readiness(): { ready: boolean; reasons: string[] };
  status(): StatusDocument;
  /** The config dump of a Gateway (`namespace/name`) or an IR key; undefined when unknown. */
  configDump(ref: { gateway?: string; irKey?: string }): unknown | undefined;
  metrics: Metrics;
}

const json = (res: http.ServerResponse, code: number, body: unknown) => {
  res.writeHead(code, { 'content-type': 'application/json; charset=utf-8' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
};

const text = (res: http.ServerResponse, code: number, body: string, type = 'text/plain; charset=utf-8') => {
  res.writeHead(code, { 'content-type': type });
  res.end(body);
};

/** `httproutes` / `HTTPRoute` / `httproute` → the kind's lower-case singular. */
export function normaliseKind(k: string): string {
  const lower = k.toLowerCase();
  if (lower.endsWith('policies')) return `${lower.slice(0, -'policies'.length)}policy`;
  if (lower.endsWith('classes')) return lower.slice(0, -2);
  return lower.endsWith('s') && !lower.endsWith('ss') ? lower.slice(0, -1) : lower;
}

export class AdminServer {
  private readonly server: http.Server;

  constructor(private readonly source: AdminSource) {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((err) => json(res, 500, { error: (err as Error).message }));
    });
    this.server.keepAliveTimeout = 5000;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'only GET\n');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    switch (parts[0]) {
      case 'healthz':
        return text(res, 200, 'ok\n');
      case 'readyz': {
        const r = this.source.readiness();
        return text(res, r.ready ? 200 : 503, r.ready ? 'ready\n' : `not ready: ${r.reasons.join('; ')}\n`);
      }
      case 'metrics':
        return text(res, 200, await this.source.metrics.registry.metrics(), this.source.metrics.registry.contentType);
      case 'api':
        if (parts[1] === 'status') return this.status(res, parts.slice(2));
        if (parts[1] === 'config_dump') {
          const irKey = url.searchParams.get('irKey') ?? undefined;
          const gateway = parts.length >= 4 ? `${parts[2]}/${parts[3]}` : url.searchParams.get('gateway') ?? undefined;
          if (!irKey && !gateway) return json(res, 400, { error: 'name a Gateway: /api/config_dump/<namespace>/<name> (or ?irKey=<key>)' });
          const dump = this.source.configDump({ gateway, irKey });
          return dump === undefined ? json(res, 404, { error: `no configuration is served for ${gateway ?? irKey}` }) : json(res, 200, dump);
        }
        break;
      case undefined:
        return text(res, 200, 'egts admin: /healthz /readyz /metrics /api/status /api/config_dump/<namespace>/<gateway>\n');
    }
    return json(res, 404, { error: `no such endpoint: ${url.pathname}` });
  }

  private status(res: http.ServerResponse, parts: string[]): void {
    const doc = this.source.status();
    if (!parts.length) return json(res, 200, doc);
    const kind = normaliseKind(parts[0]!);
    const ofKind = doc.resources.filter((r) => (r.kind ?? '').toLowerCase() === kind);
    if (parts.length === 1) return json(res, 200, { resources: ofKind });
    const [ns, name] = parts.length >= 3 ? [parts[1], parts[2]] : [undefined, parts[1]];
    const found = ofKind.filter((r) => r.metadata.name === name && (ns === undefined || r.metadata.namespace === ns));
    if (found.length === 1) return json(res, 200, found[0]);
    if (!found.length) return json(res, 404, { error: `no ${parts[0]} ${ns ? `${ns}/` : ''}${name}` });
    return json(res, 200, { resources: found });
  }
}
