// `egts proxy`: the built-in proxy. Configuration comes from a file (-c: an Envoy bootstrap, a
// config dump or `egts translate --to xds` output) or from an ADS server (--xds-server, or the
// bootstrap's ADS config source), with Envoy's flag names where Envoy has them.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ConfigError, formatConfigProblem } from '../proxy/config/errors.js';
import { parseConfigText } from '../proxy/config/load.js';
import { createRuntime, defaultConcurrency } from '../proxy/runtime.js';
import { CERTS_DIR_ENV } from '../proxy/config/mounts.js';

const USAGE = `usage: egts proxy (-c <file> | --xds-server <host:port> --service-cluster <irKey>) [options]

  -c, --config-path <file>     Envoy bootstrap, config dump, or 'egts translate --to xds' output (YAML or JSON)
      --config-yaml <yaml>     inline configuration, merged over the file
      --xds-server <host:port> take everything from this ADS server
      --service-cluster <key>  node cluster: the IR key to be served (and to pick from a keyed dump)
      --service-node <id>      node id (default: egts-proxy-<pid>)
      --xds-protocol <p>       sotw (default) or delta
      --xds-ca <pem>           CA that signed the ADS server's certificate (TLS to the server)
      --xds-cert <pem>         client certificate for mTLS to the ADS server, with --xds-key <pem>
      --xds-server-name <n>    the name the ADS server's certificate is checked against (default: its host)
      --drain-time-s <n>       how long removed listeners drain, and connections at shutdown (SIGTERM) (default 5)
      --concurrency <n>        worker processes (default: the number of CPUs; 1 runs everything in one process)
      --admin-address <h:p>    admin endpoint (/ready, /stats, /stats/prometheus, /config_dump, /clusters, ...);
                               the bootstrap's admin address otherwise
      --admin-address-path <f> write the admin endpoint's address to this file
      --certs-dir <dir>        where the files Envoy Gateway mounts at /certs are (ca.crt, tls.crt, tls.key)
`;

export async function run(argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        'config-path': { type: 'string', short: 'c' },
        'config-yaml': { type: 'string' },
        'xds-server': { type: 'string' },
        'service-cluster': { type: 'string' },
        'service-node': { type: 'string' },
        'xds-protocol': { type: 'string' },
        'xds-ca': { type: 'string' },
        'xds-cert': { type: 'string' },
        'xds-key': { type: 'string' },
        'xds-server-name': { type: 'string' },
        'drain-time-s': { type: 'string' },
        'log-level': { type: 'string', short: 'l' },
        concurrency: { type: 'string' },
        'admin-address': { type: 'string' },
        'admin-address-path': { type: 'string' },
        'certs-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    console.error(`egts proxy: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) { console.log(USAGE); return 0; }
  const file = values['config-path'] as string | undefined;
  const xdsServer = values['xds-server'] as string | undefined;
  const inline = values['config-yaml'] as string | undefined;
  if (!file && !xdsServer && !inline) { console.error(`egts proxy: one of -c, --config-yaml or --xds-server is required\n\n${USAGE}`); return 2; }
  const serviceCluster = values['service-cluster'] as string | undefined;
  const drainMs = Number(values['drain-time-s'] ?? 5) * 1000;
  const concurrency = values.concurrency !== undefined ? Number(values.concurrency) : defaultConcurrency();
  if (!Number.isInteger(concurrency) || concurrency < 1) { console.error(`egts proxy: --concurrency must be a positive integer\n\n${USAGE}`); return 2; }
  // Set before the workers start: they inherit it (config/mounts.ts).
  if (typeof values['certs-dir'] === 'string') process.env[CERTS_DIR_ENV] = resolve(values['certs-dir']);
  const rt = await createRuntime({ concurrency, drainMs });
  const proxy = rt.proxy;
  let adminAddress: { address: string; port: number } | undefined;
  if (typeof values['admin-address'] === 'string') {
    const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(values['admin-address']);
    if (!m) { console.error(`egts proxy: --admin-address must be host:port\n\n${USAGE}`); await rt.close(0); return 2; }
    adminAddress = { address: m[1]!, port: Number(m[2]) };
  }
  let ads: { target: string; delta: boolean } | undefined;
  let adsClient: import('../proxy/xds/index.js').AdsClient | undefined;
  let node = { id: (values['service-node'] as string | undefined) ?? `egts-proxy-${process.pid}`, cluster: serviceCluster ?? '' };
  for (const [text, name] of [[file ? readFileSync(file, 'utf8') : undefined, file ?? ''], [inline, 'config.yaml']] as const) {
    if (text === undefined) continue;
    let loaded;
    try {
      loaded = parseConfigText(text, name, serviceCluster);
    } catch (err) {
      console.error(`egts proxy: ${err instanceof ConfigError ? `${err.field ? `${err.field}: ` : ''}${err.message}` : (err as Error).message}`);
      await rt.close(0);
      return 1;
    }
    const problems = await proxy.apply(loaded.updates);
    if (problems.length) {
      for (const p of problems) console.error(`egts proxy: rejected: ${formatConfigProblem(p)}`);
      await rt.close(0);
      return 1;
    }
    if (loaded.ads) ads = loaded.ads;
    if (loaded.admin && !adminAddress) adminAddress = loaded.admin;
    if (loaded.node) node = { id: values['service-node'] as string ?? (loaded.node.id || node.id), cluster: serviceCluster ?? (loaded.node.cluster || node.cluster) };
  }
  if (xdsServer) ads = { target: xdsServer, delta: values['xds-protocol'] === 'delta' };
  if (ads) {
    const { startAds } = await import('../proxy/ads.js');
    const tls = values['xds-ca'] || values['xds-cert']
      ? { caFile: values['xds-ca'] as string | undefined, certFile: values['xds-cert'] as string | undefined, keyFile: values['xds-key'] as string | undefined, serverName: values['xds-server-name'] as string | undefined }
      : undefined;
    adsClient = await startAds(proxy, { server: ads.target, delta: ads.delta || values['xds-protocol'] === 'delta', node, tls });
    adsClient.on('ack', (typeUrl, version) => proxy.versions.set(typeUrl as never, version));
  }
  let quit: (drain: boolean) => void = () => {};
  const stopped = new Promise<boolean>((resolve) => { quit = resolve; });
  // Taken before anything is announced: a supervisor may signal as soon as it reads "ready" (or
  // earlier), and a signal without a listener kills at once. Repeated signals (a supervisor that
  // insists, a terminal's Ctrl-C to the whole group) change nothing: the drain has started.
  process.on('SIGTERM', () => quit(true));
  process.on('SIGINT', () => quit(true));
  let admin: Awaited<ReturnType<typeof import('../proxy/admin/backend.js').startAdmin>> | undefined;
  if (adminAddress) {
    const { startAdmin } = await import('../proxy/admin/backend.js');
    try {
      admin = await startAdmin(rt, {
        ...adminAddress, node, dynamic: ads !== undefined, quit: () => quit(false),
        commandLine: { configPath: file ?? '', drainTime: `${drainMs / 1000}s`, logLevel: values['log-level'] ?? 'info' },
      });
    } catch (err) {
      console.error(`egts proxy: cannot start the admin endpoint on ${adminAddress.address}:${adminAddress.port}: ${(err as Error).message}`);
      await rt.close(0);
      return 1;
    }
    console.error(`egts proxy: admin on port ${admin.port}`);
    if (values['admin-address-path']) writeFileSync(values['admin-address-path'] as string, `${adminAddress.address.includes(':') ? `[${adminAddress.address}]` : adminAddress.address}:${admin.port}\n`);
    // With ADS the proxy is initializing until its first listeners arrived (or Envoy's 15 s initial fetch timeout passed).
    const a = admin.admin;
    if (!adsClient) a.serverState = 'LIVE';
    else {
      const live = () => { if (a.serverState === 'INITIALIZING') a.serverState = 'LIVE'; };
      adsClient.on('ack', (typeUrl) => { if (typeUrl.endsWith('.Listener')) live(); });
      setTimeout(live, 15_000).unref();
    }
  }
  for (const name of proxy.listeners.names()) {
    console.error(`egts proxy: listener ${name} on port ${rt.listenerPort(name)}`);
  }
  console.error(`egts proxy: ready${rt.concurrency > 1 ? ` (${rt.concurrency} workers)` : ''}`);
  const drain = await stopped;
  // Draining: health checks fail, listeners stop accepting, connections get drain-time-s to finish.
  if (admin) admin.admin.serverState = 'DRAINING';
  const { healthState } = await import('../proxy/http/filters/health_check.js');
  healthState.failing = true;
  adsClient?.stop();
  await rt.close(drain ? drainMs : 0);
  await admin?.server.close();
  // Keep-alive upstream connections and timers would keep the process alive.
  process.exit(0);
}
