// `egts serve`: Envoy Gateway's standalone mode. Watches folders of Gateway API and Envoy Gateway
// manifests and runs the gateway they describe on this machine: the control plane (translation,
// xDS server with mTLS, status and admin API) and one proxy process per Gateway.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblem, type Problem } from '../api/place.js';
import { loadKubernetesYAML } from '../resources/load.js';
import { scanPaths } from '../provider/file/scan.js';
import { configKind } from '../provider/file/manifests.js';
import { defaultHome } from '../infra/host/home.js';
import { defaultConfig, readConfig, type ServeConfig } from '../serve/config.js';
import { ControlPlane } from '../serve/control-plane.js';
import { createLogger, type Level } from '../serve/log.js';

const usage = `usage: egts serve [<path>...] [options]

Serves the Gateways described by the manifests in <path> (files or folders, read
recursively and watched). An EnvoyGateway configuration is taken from --config, or from
an EnvoyGateway document among the manifests; without one, the defaults apply.

  -c, --config <file>        EnvoyGateway configuration (provider Custom: File + Host)
      --home <dir>           certificates and proxy files (default ${defaultHome()}, or EGTS_HOME)
      --admin <host:port>    admin server: /api/status, /api/config_dump, /metrics (default 127.0.0.1:19000)
      --xds <host:port>      xDS server (default 127.0.0.1:18000)
      --wasm <host:port>     the Wasm module cache's server, started when an EnvoyExtensionPolicy
                             uses Wasm (default: the xDS host, port 18002); modules are kept
                             under <home>/wasm
      --proxy <kind>         builtin (default), envoy, or none (proxies are run by you)
      --envoy <path>         the Envoy binary for --proxy envoy (default: envoy on PATH)
      --insecure-xds         plain gRPC between control plane and proxies (default: mTLS)
      --drain-time-s <n>     how long proxies drain on shutdown when their EnvoyProxy sets no
                             shutdown.drainTimeout (default 5)
      --log-level <level>    debug, info, warn, error (default: the configuration's, info)`;

function hostPort(s: string, flag: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s);
  if (!m) throw new Error(`${flag} must be <host>:<port>, found ${JSON.stringify(s)}`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port: Number(m[3]) };
}

/** The configuration: from --config, else from an EnvoyGateway document among the paths. */
async function loadConfig(configFile: string | undefined, paths: string[]): Promise<{ config: ServeConfig; problems: Problem[]; source?: string }> {
  let file = configFile;
  if (!file) {
    const found: string[] = [];
    const scan = await scanPaths(paths);
    for (const f of scan.files.keys()) {
      const text = readFileSync(f, 'utf8');
      if (!text.includes(configKind)) continue;
      if (loadKubernetesYAML(text, f).objects.some((o) => (o.object as { kind?: unknown }).kind === configKind)) found.push(f);
    }
    if (found.length > 1) return { config: defaultConfig(paths), problems: [{ message: `more than one EnvoyGateway configuration: ${found.join(', ')}; pass one with --config`, place: {} }] };
    file = found[0];
  }
  if (!file) return { config: defaultConfig(paths), problems: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { config: defaultConfig(paths), problems: [{ message: `cannot read: ${(err as Error).message}`, place: { file } }] };
  }
  const loaded = loadKubernetesYAML(text, file);
  const docs = loaded.objects.filter((o) => (o.object as { kind?: unknown }).kind === configKind);
  if (loaded.problems.length) return { config: defaultConfig(paths), problems: loaded.problems };
  if (docs.length !== 1) return { config: defaultConfig(paths), problems: [{ message: `expected one EnvoyGateway document, found ${docs.length}`, place: { file } }] };
  const { config, problems } = readConfig(docs[0]!.object, docs[0]!.place, paths);
  // Paths in a configuration file are relative to the file.
  config.paths = config.paths.map((p) => (paths.includes(p) ? resolve(p) : resolve(dirname(file!), p)));
  config.paths = [...new Set(config.paths)];
  return { config, problems, source: file };
}

export async function run(argv: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        home: { type: 'string' },
        admin: { type: 'string' },
        xds: { type: 'string' },
        wasm: { type: 'string' },
        proxy: { type: 'string' },
        envoy: { type: 'string' },
        'insecure-xds': { type: 'boolean' },
        'drain-time-s': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    console.error(`egts serve: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const fail = (message: string) => {
    console.error(`egts serve: ${message}`);
    return 2;
  };
  const proxyKind = values.proxy ?? 'builtin';
  if (!['builtin', 'envoy', 'none'].includes(proxyKind)) return fail(`--proxy must be builtin, envoy or none`);
  const level = values['log-level'];
  if (level !== undefined && !['debug', 'info', 'warn', 'error'].includes(level)) return fail('--log-level must be debug, info, warn or error');
  const drain = values['drain-time-s'] === undefined ? undefined : Number(values['drain-time-s']);
  if (drain !== undefined && !(drain >= 0)) return fail('--drain-time-s must be a number of seconds');

  const paths = positionals.map((p) => resolve(p));
  const { config, problems, source } = await loadConfig(values.config, paths);
  if (problems.length) {
    for (const p of problems) console.error(`egts serve: ${formatProblem(p)}`);
    return 2;
  }
  if (!config.paths.length) return fail(`nothing to serve: name a folder of manifests, or give a configuration with provider.custom.resource.file.paths\n\n${usage}`);
  let xds;
  let wasm;
  try {
    if (values.admin) config.admin = hostPort(values.admin, '--admin');
    xds = values.xds ? hostPort(values.xds, '--xds') : undefined;
    wasm = values.wasm ? hostPort(values.wasm, '--wasm') : undefined;
  } catch (err) {
    return fail((err as Error).message);
  }
  if (level) config.logLevel = level as Level;
  const log = createLogger(config.logLevel);
  if (source) log.info(`configuration from ${source}`);

  const bootstrap = proxyKind === 'envoy' ? (await import('../serve/envoy-bootstrap.js')).envoyBootstrap : undefined;
  const cp = new ControlPlane({
    config,
    home: values.home ?? defaultHome(),
    xds: { ...xds, tls: !values['insecure-xds'] },
    wasm,
    proxy: { kind: proxyKind as 'builtin' | 'envoy' | 'none', envoyPath: values.envoy, bootstrap, drainSeconds: drain },
    log,
  });
  try {
    await cp.start();
  } catch (err) {
    log.error(`cannot start: ${(err as Error).message}`);
    await cp.stop(1000).catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn(`${signal} again: exiting without waiting for the proxies to drain`);
        process.exit(130);
      }
      stopping = true;
      log.info(`${signal}: draining the proxies and stopping`);
      cp.stop().then(
        () => {
          log.info('stopped');
          resolveExit(0);
        },
        (err) => {
          log.error(`shutdown: ${(err as Error).message}`);
          resolveExit(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // Announced once the signals are taken: a supervisor may signal as soon as it reads this.
    log.info(`serving ${config.paths.join(', ')}; egts status shows the state (admin http://${cp.adminAddress!.address}:${cp.adminAddress!.port})`);
  });
}
