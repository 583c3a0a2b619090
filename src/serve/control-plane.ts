// The standalone control plane: the pipeline of DESIGN.md wired through keyed stores.
//
//   file provider ─▶ [resources: GatewayClass → bundle] ─▶ gateway stage ─▶ [xds IR: key → IR] ─▶ xds stage ─▶ xDS server ─▶ proxies
//                                                                │        [infra IR: key → infra] ─▶ host infra manager (proxy processes)
//                                                                ▼
//                                             status book ◀── proxies' ACKs and NACKs (xDS server events)
//
// Each arrow is a subscription: a stage sees only the latest value of each key it has not yet
// handled, so a burst of edits costs one translation per affected key, and one Gateway's
// failure never holds up the others. The admin server reads the status book and the xDS cache.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ObjectMeta } from '../api/meta.js';
import type { Problem } from '../api/place.js';
import { formatProblem } from '../api/place.js';
import { FileProvider, type ProviderSnapshot } from '../provider/file/provider.js';
import type { WatchOptions } from '../provider/file/watch.js';
import { gatherResources, type GatheredClass } from '../provider/gather.js';
import { OIDCDiscovery } from '../provider/oidcdiscovery.js';
import { KeyedStore } from '../store/store.js';
import { XdsServer, type ProxyConnection } from '../xds/server/index.js';
import { HostInfraManager } from '../infra/host/manager.js';
import { ensureCertificates, type CertificatePaths } from '../infra/certgen.js';
import { certsDir } from '../infra/host/home.js';
import { AdminServer, type StatusDocument } from '../admin/server.js';
import { Metrics } from '../admin/metrics.js';
import { configDump } from '../admin/config-dump.js';
import { defaultSettings, type TranslatorSettings } from '../gatewayapi/settings.js';
import type { ServeConfig } from './config.js';
import { DemoBackends } from './demo.js';
import { GatewayStage, newIRStores, type ClassResources } from './gateway-stage.js';
import { createLogger, type Logger } from './log.js';
import { proxySync, rejectedResources } from './programmed.js';
import { proxyCommand, type ProxyLaunchOptions } from './proxy-command.js';
import { StatusBook } from './status.js';
import { XdsStage, type XdsStageOptions } from './xds-stage.js';
import { RateLimitStage } from './ratelimit-stage.js';
import type { AnyObject } from '../provider/object.js';
import { wasmModulesToFetch } from '../gatewayapi/wasmcode.js';
import { WasmModuleCache } from '../wasm/cache.js';
import { WasmModuleServer } from '../wasm/server.js';

export interface ControlPlaneOptions {
  config: ServeConfig;
  /** Where certificates and proxy files live. */
  home: string;
  /** Where the xDS server listens (default 127.0.0.1:18000, Envoy Gateway's port). */
  xds?: { host?: string; port?: number; tls?: boolean };
  /** Which proxies to run: the built-in one (default), Envoy, or none (they are run elsewhere). */
  proxy?: { kind: 'builtin' | 'envoy' | 'none'; envoyPath?: string; bootstrap?: ProxyLaunchOptions['bootstrap']; drainSeconds?: number };
  watch?: WatchOptions;
  log?: Logger;
  /** Run the echo servers of `egts.dev/echo` Backends (default true). */
  demoBackends?: boolean;
  /** Where the Wasm module cache serves the proxies (default: the xDS host, port 18002); started when a policy needs it. */
  wasm?: { host?: string; port?: number };
}

/** How long a change waits for the Wasm modules it needs before it is translated anyway. */
const wasmPrefetchWaitMs = 10_000;

export class ControlPlane {
  readonly log: Logger;
  readonly metrics = new Metrics();
  readonly status = new StatusBook();
  readonly resources = new KeyedStore<ClassResources>({ name: 'resources', equals: (a, b) => a.fingerprint === b.fingerprint });
  readonly xdsIR;
  readonly infraIR;
  readonly server: XdsServer;
  readonly provider: FileProvider;
  readonly infra: HostInfraManager | undefined;
  readonly admin: AdminServer;
  private readonly demo: DemoBackends | undefined;
  private readonly xdsStage: XdsStage;
  private readonly xdsStageOptions: XdsStageOptions;
  /** The built-in global rate limit service, when the configuration enables rate limiting. */
  readonly rateLimit: RateLimitStage | undefined;
  /** The Secret holding the proxies' client certificate, which the rate limit and Wasm clusters present. */
  private readonly envoySecret: AnyObject | undefined;
  /** The Wasm module cache, and its server once a policy has needed it. */
  readonly wasm: WasmModuleCache;
  private wasmServer: Promise<WasmModuleServer | undefined> | undefined;
  /** The last provider snapshot's classes, published once their Wasm modules are fetched. */
  private published: Promise<void> = Promise.resolve();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly certs: CertificatePaths | undefined;
  private readonly rateLimitCerts: CertificatePaths | undefined;
  /** The certificates of the services the proxies call (rate limit, Wasm cache). */
  private readonly serviceCerts: CertificatePaths;
  private started = false;
  private firstLoadDone = false;
  private reportedProblems = new Set<string>();
  private gatewayConditions = new Map<string, string>();
  private progressScheduled = new Set<string>();
  /** OIDC issuers' discovery documents, fetched for the translator (which does no I/O). */
  private readonly oidc: OIDCDiscovery;
  /** The classes of the last provider snapshot, published again when a discovery document arrives. */
  private lastClasses: GatheredClass[] = [];
  adminAddress: AddressInfo | undefined;
  xdsPort = 0;

  constructor(private readonly options: ControlPlaneOptions) {
    this.log = options.log ?? createLogger(options.config.logLevel);
    const tls = options.xds?.tls !== false;
    const rateLimit = options.config.rateLimit;
    // The rate limit service and the Wasm cache are reached over mTLS whatever the xDS server
    // does: the translator's clusters to them present the proxies' client certificate.
    const made = ensureCertificates(certsDir(options.home));
    if (made.generated) this.log.info(`generated mTLS certificates in ${certsDir(options.home)} (${made.reason})`);
    const certs = made.paths;
    if (tls) this.certs = certs;
    this.serviceCerts = certs;
    this.envoySecret = envoyClientSecret(certs);
    if (rateLimit) {
      this.rateLimit = new RateLimitStage(rateLimit, this.log.child('ratelimit'));
      this.rateLimitCerts = certs;
    }
    this.wasm = new WasmModuleCache({
      dir: join(options.home, 'wasm'),
      log: this.log.child('wasm'),
      onChange: () => {
        this.publishClasses();
        if (this.firstLoadDone) void this.settled();
      },
    });
    this.server = new XdsServer({
      tls: this.certs && { certFile: this.certs.server.cert, keyFile: this.certs.server.key, caFile: this.certs.server.ca },
      warn: (m) => this.log.warn(`xds: ${m}`),
    });
    ({ xdsIR: this.xdsIR, infraIR: this.infraIR } = newIRStores());
    this.oidc = new OIDCDiscovery({
      onChange: (issuer) => {
        this.log.info(`OIDC discovery: got the openid-configuration of ${issuer}`);
        this.publishClasses();
        if (this.firstLoadDone) void this.settled();
      },
      onError: (issuer, message) => this.log.warn(`OIDC discovery: ${issuer}: ${message}`),
    });
    this.provider = new FileProvider({ ...options.watch, paths: options.config.paths, onUpdate: (s) => this.onProvider(s) });
    const proxyKind = options.proxy?.kind ?? 'builtin';
    if (proxyKind !== 'none') {
      this.infra = new HostInfraManager({
        command: (key, infra) =>
          proxyCommand(key, infra, {
            kind: proxyKind,
            envoyPath: options.proxy?.envoyPath,
            bootstrap: options.proxy?.bootstrap,
            drainSeconds: options.proxy?.drainSeconds,
            xdsAddress: `${this.xdsConnectHost()}:${this.xdsPort}`,
            tls: this.certs?.client,
            home: options.home,
          }),
        onEvent: (key, e) => {
          const log = this.log.child(`proxy ${key}`);
          if (e.type === 'started') log.info(`started (pid ${e.pid}${e.restarts ? `, restart ${e.restarts}` : ''})`);
          else if (e.type === 'exited' && !e.expected) log.warn(`exited unexpectedly (${e.signal ?? `code ${e.code}`})`);
          else if (e.type === 'restart-scheduled') {
            this.metrics.restarts.inc({ ir_key: key });
            log.warn(`restarting in ${e.delayMs} ms`);
          } else if (e.type === 'spawn-failed') log.error(`could not start: ${e.message}`);
          this.metrics.proxies.set(this.infra?.list().length ?? 0);
        },
      });
    }
    if (options.demoBackends !== false) this.demo = new DemoBackends(this.log.child('demo'));
    this.xdsStageOptions = { controllerNamespace: 'envoy-gateway-system', dnsDomain: 'cluster.local', onHost: true };
    this.xdsStage = new XdsStage(
      this.server,
      this.xdsStageOptions,
      this.status,
      this.log.child('xds'),
      (_outcome, key) => this.scheduleProgress(key),
      this.metrics,
    );
    this.admin = new AdminServer({
      readiness: () => this.readiness(),
      status: () => this.statusDocument(),
      configDump: (ref) => this.configDump(ref),
      metrics: this.metrics,
    });
  }

  private xdsConnectHost(): string {
    const host = this.options.xds?.host ?? '127.0.0.1';
    if (host === '0.0.0.0') return '127.0.0.1';
    if (host === '::') return '::1';
    return host.includes(':') ? `[${host}]` : host;
  }

  translatorSettings(className: string): TranslatorSettings {
    const c = this.options.config;
    return defaultSettings({
      gatewayControllerName: c.controllerName,
      gatewayClassName: className,
      backendEnabled: c.enableBackend,
      envoyPatchPolicyEnabled: c.enableEnvoyPatchPolicy,
      globalRateLimitEnabled: c.rateLimit !== undefined,
      runningOnHost: true,
      wasmCache: this.wasm,
    });
  }

  async start(): Promise<void> {
    const xds = this.options.xds ?? {};
    const host = xds.host ?? '127.0.0.1';
    this.xdsPort = await this.server.listen(`${host.includes(':') ? `[${host}]` : host}:${xds.port ?? 18000}`);
    this.adminAddress = await this.admin.listen(this.options.config.admin.port, this.options.config.admin.host);
    this.log.info(`xDS server on ${host}:${this.xdsPort}${this.certs ? ' (mTLS)' : ''}; admin on http://${this.adminAddress.address}:${this.adminAddress.port}`);
    if (this.rateLimit) {
      const c = this.rateLimitCerts!.server;
      const rlHost = this.xdsConnectHost().replace(/^\[|\]$/g, '');
      const port = await this.rateLimit.start(rlHost, { certFile: c.cert, keyFile: c.key, caFile: c.ca });
      const rl = this.options.config.rateLimit!;
      // The CA file by its real path, so that Envoy (--proxy envoy) finds it as the built-in proxy does.
      this.xdsStageOptions.globalRateLimit = { serviceURL: `grpc://${this.xdsConnectHost()}:${port}`, timeout: rl.timeout, failClosed: rl.failClosed, caFile: c.ca };
    }

    this.server.on('connect', (c) => this.onConnection('connect', c));
    this.server.on('disconnect', (c) => this.onConnection('disconnect', c));
    this.server.on('ack', (c, t) => {
      this.metrics.acks.inc({ type: shortType(t.typeUrl) });
      this.scheduleProgress(c.cluster);
    });
    this.server.on('nack', (c, n) => {
      this.metrics.nacks.inc({ type: shortType(n.typeUrl) });
      this.log.child(`proxy ${c.cluster}`).warn(`${c.nodeId} rejected ${shortType(n.typeUrl)} version ${n.version}: ${n.message}`);
      this.scheduleProgress(c.cluster);
    });

    const gatewayStage = new GatewayStage((name) => this.translatorSettings(name), this.xdsIR, this.infraIR, this.status, this.log.child('gatewayapi'), this.metrics);
    this.unsubscribe.push(this.resources.subscribe(gatewayStage.handle));
    this.unsubscribe.push(this.xdsIR.subscribe(this.xdsStage.handle));
    if (this.rateLimit) this.unsubscribe.push(this.xdsIR.subscribe(this.rateLimit.handle));
    if (this.infra) {
      const infra = this.infra;
      this.unsubscribe.push(
        this.infraIR.subscribe(async (changes) => {
          const plain = new Map([...changes].map(([k, v]) => [k, v?.infra]));
          await infra.apply(plain);
          this.metrics.proxies.set(infra.list().length);
        }),
      );
    }
    this.wasm.start();
    const first = await this.provider.start();
    this.onProvider(first);
    await this.published;
    await this.settled();
    this.firstLoadDone = true;
    this.started = true;
  }

  /** Resolves once every stage has handled every change so far (they run in pipeline order). */
  async settled(): Promise<void> {
    await this.resources.idle();
    await this.xdsIR.idle();
    await this.infraIR.idle();
    this.afterChange();
  }

  private onProvider(snapshot: ProviderSnapshot): void {
    this.metrics.reloads.inc();
    this.metrics.problems.set(snapshot.problems.length);
    this.metrics.resources.reset();
    for (const { object } of snapshot.objects.values()) this.metrics.resources.inc({ kind: object.kind ?? 'unknown' });
    this.status.setProvider(snapshot);
    this.logProblems(snapshot.problems);
    const objects = [...snapshot.objects.values()].map((o) => o.object);
    // As Envoy Gateway's certgen does in a cluster: the proxies' client certificate, for the rate
    // limit cluster (a Secret of that name among the manifests takes precedence).
    const es = this.envoySecret;
    if (es && !objects.some((o) => o.kind === 'Secret' && o.metadata?.name === es.metadata?.name && o.metadata?.namespace === es.metadata?.namespace)) objects.push(es);
    const classes = gatherResources(objects, this.options.config.controllerName);
    this.lastClasses = classes;
    // The Wasm modules the policies name are fetched first (the translator does no I/O); one
    // that takes too long is the policy's error until it arrives and the bundle is translated again.
    this.published = this.prefetchWasm(classes)
      .catch((err: unknown) => this.log.error(`Wasm modules: ${(err as Error).stack ?? err}`))
      .then(() => {
        if (this.lastClasses === classes) this.publishClasses();
      });
    this.demo?.apply(objects);
    const files = snapshot.files.length;
    this.log.info(`loaded ${snapshot.objects.size} resource${snapshot.objects.size === 1 ? '' : 's'} from ${files} file${files === 1 ? '' : 's'}` +
      `${snapshot.problems.length ? `, ${snapshot.problems.length} problem${snapshot.problems.length === 1 ? '' : 's'}` : ''}` +
      `${classes.length ? '' : ` (no GatewayClass with controllerName ${this.options.config.controllerName})`}`);
    if (this.firstLoadDone) void this.published.then(() => this.settled());
  }

  /** Fetches the Wasm modules of these classes (starting the cache's server the first time). */
  private async prefetchWasm(classes: GatheredClass[]): Promise<void> {
    const modules = classes.flatMap((c) => wasmModulesToFetch(c.resources));
    if (!modules.length) return;
    if (!(await (this.wasmServer ??= this.startWasmServer()))) return;
    await this.wasm.prefetch(modules, wasmPrefetchWaitMs);
  }

  private async startWasmServer(): Promise<WasmModuleServer | undefined> {
    const c = this.serviceCerts.server;
    const server = new WasmModuleServer((path) => this.wasm.fileFor(path), { cert: readFileSync(c.cert), key: readFileSync(c.key), ca: readFileSync(c.ca) });
    const host = this.options.wasm?.host ?? this.xdsConnectHost().replace(/^\[|\]$/g, '');
    try {
      const { port } = await server.listen(host, this.options.wasm?.port ?? 18002);
      const h = host.includes(':') ? `[${host}]` : host;
      this.wasm.setServingURLPrefix(`https://${h}:${port}/`);
      this.xdsStageOptions.wasmCache = { host, port, caFile: c.ca };
      this.log.info(`Wasm module cache on ${h}:${port} (mTLS)`);
      return server;
    } catch (err) {
      this.log.error(`Wasm module cache: cannot listen on ${host}:${this.options.wasm?.port ?? 18002}: ${(err as Error).message}`);
      this.wasmServer = undefined;
      return undefined;
    }
  }

  /** Publishes the classes' bundles, each with the OIDC discovery documents known for it. */
  private publishClasses(): void {
    const next = new Map<string, ClassResources>();
    for (const c of this.lastClasses) {
      const oidcDiscovery = this.oidc.documentsFor(c.resources);
      const resources = oidcDiscovery ? { ...c.resources, oidcDiscovery } : c.resources;
      // What the Wasm cache answers for the bundle's modules counts too: an arrival re-translates.
      const wasm = this.wasm.stateOf(wasmModulesToFetch(resources));
      next.set(c.name, { resources, fingerprint: `${fingerprint(resources)}\nwasm:${wasm}` });
    }
    this.resources.replace(next);
  }

  /** Logs problems as they appear, and says when a file's problems are gone. */
  private logProblems(problems: Problem[]): void {
    const now = new Set(problems.map(formatProblem));
    for (const p of now) if (!this.reportedProblems.has(p)) this.log.warn(p);
    const fixed = [...this.reportedProblems].filter((p) => !now.has(p));
    if (fixed.length && !now.size) this.log.info('all problems are resolved');
    this.reportedProblems = now;
  }

  private onConnection(what: 'connect' | 'disconnect', c: ProxyConnection): void {
    this.metrics.connections.set(this.server.connections().length);
    this.log.child(`proxy ${c.cluster}`).info(`${c.nodeId} ${what === 'connect' ? 'connected' : 'disconnected'} (${c.protocol}, ${c.peer})`);
    this.scheduleProgress(c.cluster);
  }

  /** Recomputes a key's proxy progress once per burst of events. */
  private scheduleProgress(irKey: string): void {
    if (this.progressScheduled.has(irKey)) return;
    this.progressScheduled.add(irKey);
    setImmediate(() => {
      this.progressScheduled.delete(irKey);
      const outcome = this.xdsStage.outcome(irKey);
      const proxies = this.server.connections().filter((c) => c.cluster === irKey).map(proxySync);
      for (const p of proxies) if (p.nack) p.named = rejectedResources(this.server.cache.get(irKey), p.nack.message);
      if (!outcome && !proxies.length && !this.xdsIR.has(irKey)) this.status.setProgress(irKey, undefined);
      else this.status.setProgress(irKey, { irKey, version: outcome?.version, proxies, translationError: outcome?.error });
      this.afterChange();
    });
  }

  /** Logs the Gateways whose Accepted or Programmed condition changed. */
  private afterChange(): void {
    const view = this.status.view();
    const seen = new Set<string>();
    for (const r of view.resources) {
      if (r.kind !== 'Gateway') continue;
      const id = `${r.metadata.namespace}/${r.metadata.name}`;
      seen.add(id);
      const conds = ((r.status?.conditions ?? []) as { type: string; status: string; reason: string; message: string }[]).filter((c) => c.type === 'Accepted' || c.type === 'Programmed');
      const summary = conds.map((c) => `${c.type}=${c.status} (${c.reason})`).join(', ');
      if (this.gatewayConditions.get(id) === summary) continue;
      this.gatewayConditions.set(id, summary);
      const bad = conds.find((c) => c.status !== 'True');
      const msg = `Gateway ${id}: ${summary || 'no status'}${bad && bad.reason !== 'Pending' ? `: ${bad.message}` : ''}`;
      // Waiting for proxies to ACK is a moment in every reload: worth a line only when debugging.
      if (bad && bad.reason !== 'Pending') this.log.warn(msg);
      else if (bad) this.log.debug(msg);
      else this.log.info(msg);
    }
    for (const id of [...this.gatewayConditions.keys()]) if (!seen.has(id)) this.gatewayConditions.delete(id);
  }

  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (!this.started) reasons.push('starting');
    return { ready: reasons.length === 0, reasons };
  }

  /** The IR key serving a Gateway (`namespace/name`). */
  irKeyOf(gateway: string): string | undefined {
    return this.status.irKeyOf(`Gateway ${gateway}`);
  }

  configDump(ref: { gateway?: string; irKey?: string }): unknown | undefined {
    const key = ref.irKey ?? (ref.gateway ? this.irKeyOf(ref.gateway) : undefined);
    const snapshot = key === undefined ? undefined : this.server.cache.get(key);
    return snapshot && configDump(snapshot);
  }

  statusDocument(): StatusDocument {
    const view = this.status.view();
    const processes = new Map(this.infra?.list().map((p) => [p.irKey, p]));
    const gateways = this.status.keys().map((irKey) => {
      const progress = this.status.progressOf(irKey);
      const p = processes.get(irKey);
      return {
        irKey,
        gateways: this.status.gatewaysOf(irKey),
        version: progress?.version,
        translationError: progress?.translationError,
        process: p && { pid: p.pid, state: p.state, restarts: p.restarts },
        proxies: progress?.proxies ?? [],
      };
    });
    return { ...view, gateways, demoBackends: this.demo?.list() ?? [] };
  }

  /** Graceful shutdown: stop watching, drain and stop the proxies, then the servers. */
  async stop(drainTimeoutMs?: number): Promise<void> {
    this.started = false;
    this.provider.stop();
    for (const u of this.unsubscribe) u();
    await Promise.all([this.infra?.close(drainTimeoutMs), this.demo?.close()]);
    await this.rateLimit?.close();
    this.wasm.stop();
    await (await this.wasmServer)?.close();
    await this.server.close();
    await this.admin.close();
  }
}

/** The `envoy` Secret of the controller namespace, from serve's client certificate. */
function envoyClientSecret(certs: CertificatePaths): AnyObject {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'envoy', namespace: 'envoy-gateway-system' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(certs.client.cert), 'tls.key': b64(certs.client.key), 'ca.crt': b64(certs.client.ca) },
  } as AnyObject;
}

const shortType = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf('.') + 1);

/** What identifies a bundle's content: every object's identity and resourceVersion. */
function fingerprint(resources: ClassResources['resources']): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(resources)) {
    if (k === 'oidcDiscovery') {
      parts.push(`${k}:${JSON.stringify(v)}`);
      continue;
    }
    // The default EnvoyProxy spec has no metadata: it counts as one anonymous entry.
    const list = (Array.isArray(v) ? v : v ? [v] : []) as { metadata?: Partial<ObjectMeta> }[];
    for (const o of list) parts.push(`${k}:${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}@${o.metadata?.resourceVersion ?? o.metadata?.generation ?? ''}`);
  }
  return parts.join('\n');
}
