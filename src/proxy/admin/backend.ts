// The admin endpoint's view of a running proxy (runtime.ts): server state, stats, clusters,
// listeners, config dump and server info, and the drain/quit actions.
import { readFileSync } from 'node:fs';
import { LISTENER } from '../config/type_urls.js';
import type { Json } from '../config/json.js';
import type { ProxyRuntime } from '../runtime.js';
import { uptimeSeconds } from '../stats/snapshot.js';
import { AdminServer, type AdminBackend, type ListenerStatus, type ServerState } from './admin_server.js';
import { buildConfigDump } from './config_dump.js';

export interface AdminOptions {
  address: string;
  port: number;
  node: { id: string; cluster: string };
  /** Configuration comes from ADS (dynamic resources) rather than a file. */
  dynamic: boolean;
  commandLine: Record<string, unknown>;
  /** Exit the process (POST /quitquitquit). */
  quit(): void;
}

function packageVersion(): string {
  try {
    return String(JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')).version);
  } catch {
    return '0.0.0';
  }
}

export class RuntimeAdmin implements AdminBackend {
  serverState: ServerState = 'INITIALIZING';

  constructor(private readonly rt: ProxyRuntime, private readonly o: AdminOptions) {}

  state(): ServerState { return this.serverState; }
  stats() { return this.rt.stats(); }
  clusters() { return this.rt.proxy.clusters.values(); }
  dynamic(): boolean { return this.o.dynamic; }

  configDump(q: Parameters<AdminBackend['configDump']>[0]): Json {
    const p = this.rt.proxy;
    return buildConfigDump({
      resources: p.resources,
      versions: p.versions,
      updated: p.updated,
      dynamic: this.o.dynamic,
      bootstrap: {
        node: { id: this.o.node.id, cluster: this.o.node.cluster, userAgentName: 'egts', userAgentVersion: packageVersion() },
        admin: { address: { socketAddress: { address: this.o.address, portValue: this.o.port } } },
      },
    }, q);
  }

  listeners(): ListenerStatus[] {
    const p = this.rt.proxy;
    const out: ListenerStatus[] = [];
    for (const name of p.resources.get(LISTENER)?.keys() ?? []) {
      const c = p.listeners.config(name);
      if (!c) continue;
      out.push({ name, address: c.address, port: this.rt.listenerPort(name) ?? c.port, pipe: c.pipe, protocol: c.protocol });
    }
    return out;
  }

  serverInfo(): Json {
    const up = `${uptimeSeconds()}s`;
    return {
      version: `egts/${packageVersion()}/Node.js ${process.version}`,
      state: this.serverState,
      hotRestartVersion: 'disabled',
      commandLineOptions: { concurrency: this.rt.concurrency, serviceCluster: this.o.node.cluster, serviceNode: this.o.node.id, mode: 'Serve', ...this.o.commandLine },
      node: { id: this.o.node.id, cluster: this.o.node.cluster, userAgentName: 'egts', userAgentVersion: packageVersion() },
      uptimeCurrentEpoch: up,
      uptimeAllEpochs: up,
    };
  }

  async drainListeners(): Promise<void> {
    this.serverState = 'DRAINING';
    await this.rt.drainListeners();
  }

  quit(): void {
    this.o.quit();
  }
}

/** Starts the admin endpoint; resolves with it and the port it got. */
export async function startAdmin(rt: ProxyRuntime, o: AdminOptions): Promise<{ admin: RuntimeAdmin; server: AdminServer; port: number }> {
  const admin = new RuntimeAdmin(rt, o);
  const server = new AdminServer(admin);
  const port = await server.listen(o.address, o.port);
  return { admin, server, port };
}
