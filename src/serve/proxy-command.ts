// The command line of the proxy that serves one IR key on this host: the built-in proxy
// (`egts proxy`), or a real Envoy where configured, both pointed at the xDS server with the
// node cluster set to the IR key and mTLS client certificates. The proxy settings an EnvoyProxy
// gives (drain timeout, concurrency, log level) become the proxy's flags, which Envoy and the
// built-in proxy share.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProxyInfra } from '../ir/infra.js';
import type { ProcessSpec } from '../infra/host/process.js';
import type { CertificatePaths } from '../infra/certgen.js';

export interface ProxyLaunchOptions {
  /** Which proxy runs: egts's own, or Envoy. */
  kind: 'builtin' | 'envoy';
  /** The Envoy binary (kind envoy). */
  envoyPath?: string;
  /** `host:port` the proxies reach the xDS server at. */
  xdsAddress: string;
  /** The proxies' client certificate, key and the CA of the xDS server; plain gRPC when absent. */
  tls?: CertificatePaths['client'];

  /** Where per-proxy files (Envoy bootstraps) are written. */
  home: string;
  /** Envoy bootstrap for a key (kind envoy). */
  bootstrap?: (irKey: string, infra: ProxyInfra, options: ProxyLaunchOptions) => string;
  /** Default drain time when the EnvoyProxy sets none (seconds). */
  drainSeconds?: number;
}

/** bin/egts.js, from this module's place in dist/src/serve/. */
export const egtsBin = fileURLToPath(new URL('../../../bin/egts.js', import.meta.url));

/** A node id that names the key and stays the same across restarts of its proxy. */
export function nodeId(irKey: string): string {
  return `egts-proxy-${irKey.replace(/[^A-Za-z0-9_.-]+/g, '-')}`;
}

/** `60s`, `1m30s`, `500ms` → seconds (Go/Kubernetes duration). */
export function durationSeconds(d: unknown): number | undefined {
  if (typeof d !== 'string') return undefined;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let at = 0;
  while ((m = re.exec(d))) {
    const n = Number(m[1]);
    total += m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 's' ? n : n / 1000;
    at = re.lastIndex;
  }
  return at === d.length && at > 0 ? total : undefined;
}

/** The flags both proxies understand, from the key's EnvoyProxy. */
function sharedFlags(irKey: string, infra: ProxyInfra, options: ProxyLaunchOptions): string[] {
  const spec = (infra.config?.spec ?? {}) as Record<string, any>;
  const drain = durationSeconds(spec.shutdown?.drainTimeout) ?? options.drainSeconds ?? 5;
  const flags = ['--service-cluster', irKey, '--service-node', nodeId(irKey), '--drain-time-s', String(Math.ceil(drain))];
  const concurrency = spec.concurrency;
  if (Number.isInteger(concurrency) && concurrency > 0) flags.push('--concurrency', String(concurrency));
  const level = spec.logging?.level?.default;
  if (typeof level === 'string') flags.push('--log-level', level);
  return flags;
}

export function proxyCommand(irKey: string, infra: ProxyInfra, options: ProxyLaunchOptions): ProcessSpec {
  if (options.kind === 'envoy') {
    if (!options.bootstrap) throw new Error('running Envoy needs a bootstrap');
    const dir = join(options.home, 'proxies', nodeId(irKey));
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, options.bootstrap(irKey, infra, options));
    return { command: options.envoyPath ?? 'envoy', args: ['-c', file, '--use-dynamic-base-id', ...sharedFlags(irKey, infra, options)] };
  }
  // Incremental xDS, as Envoy Gateway's bootstrap asks for (DELTA_GRPC): an edit sends only what changed.
  const args = [egtsBin, 'proxy', '--xds-server', options.xdsAddress, '--xds-protocol', 'delta', ...sharedFlags(irKey, infra, options)];
  if (options.tls) {
    args.push('--xds-ca', options.tls.ca, '--xds-cert', options.tls.cert, '--xds-key', options.tls.key);
    // TLS server names cannot be IP addresses; the server certificate also names localhost.
    if (/^(\[.*\]|[\d.]+):\d+$/.test(options.xdsAddress)) args.push('--xds-server-name', 'localhost');
  }
  return { command: process.execPath, args, env: childEnv() };
}

/** The environment of the egts processes serve runs: they stop if serve dies (see cli/main.ts). */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, EGTS_PARENT_PID: String(process.pid) };
}
