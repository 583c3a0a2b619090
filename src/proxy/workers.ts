// Using every core: a primary process and N worker processes (node:cluster). The workers carry
// the traffic: each runs the whole configuration, and their listening sockets are shared through
// the primary, which hands accepted connections to them in turn (cluster's round robin; Node 20
// has no SO_REUSEPORT). The primary holds the one xDS stream and the admin endpoint, like
// Envoy's main thread: it compiles every update first (so a NACK is decided once, with the same
// messages as a single process), then fans it out to the workers and ACKs once all applied it.
// One ADS stream per proxy, rather than one per worker, keeps the xDS server's view simple (one
// node, one ACK state) and the workers identical.
//
// Health is decided in the primary too: active health checks run there (one check per host, not
// one per worker) and outlier ejections are decided there from what the workers report
// (consecutive failures as they happen, interval counts when asked); host health is published to
// every worker. UDP listeners live in worker 0 alone, so that a client's datagrams always meet
// the same session. A worker that dies is started again and given the current configuration
// and host health.
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ConfigProblem } from './config/errors.js';
import type { Json } from './config/json.js';
import { CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET, type ResourceType } from './config/type_urls.js';
import { applyHealthFlags, HEALTH_FLAGS, reportEjection, takeOutlierCounts, type HealthLink } from './health/cluster_health.js';
import type { EjectionType, IntervalCounts } from './health/outlier.js';
import { healthState } from './http/filters/health_check.js';
import type { ListenerConfig } from './listener/listener_config.js';
import type { UdpListenerHandle } from './listener/network_filter.js';
import { answerCall, setPrimaryLink, takeAnswer, type CallMessage } from './primary_calls.js';
import { Proxy, type ProxyOptions, type ResourceUpdate } from './proxy.js';
import { mergeSnapshot, takeSnapshot, type StatsSnapshot } from './stats/snapshot.js';
import { worker } from './stats/listener_stats.js';

/** Omit over each member of a union. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Primary → worker. */
type ToWorker =
  | { t: 'init'; index: number; drainMs: number }
  | { t: 'apply'; seq: number; updates: ResourceUpdate[] }
  | { t: 'health'; items: [string, string, number][] }
  | { t: 'stats'; seq: number }
  | { t: 'outlier'; seq: number; cluster: string }
  | { t: 'drain'; seq: number }
  | { t: 'shutdown'; drainMs: number }
  | { t: 'answer'; seq: number; value: unknown };

/** Worker → primary. */
type FromWorker =
  | { t: 'hello' }
  | { t: 'ready' }
  | { t: 'reply'; seq: number; value: unknown }
  | { t: 'eject'; cluster: string; key: string; type: EjectionType }
  | { t: 'traffic'; cluster: string }
  | CallMessage;

interface AppliedReply { problems: ConfigProblem[]; ports: [string, number][] }

const APPLY_ORDER: ResourceType[] = [SECRET, CLUSTER, ENDPOINT, ROUTE, LISTENER];

/** A UDP listener placeholder: in the primary (nothing is bound there) and in workers other than worker 0. */
function absentUdp(c: ListenerConfig): Promise<UdpListenerHandle> {
  return Promise.resolve({ boundPort: c.port, update() {}, close: async () => {} });
}

class WorkerHandle {
  worker: Worker | undefined;
  private seq = 0;
  private readonly pending = new Map<number, (v: unknown) => void>();
  ready: Promise<void> = Promise.resolve();

  constructor(readonly index: number) {}

  /**
   * Asks the worker once it is ready (a message sent before it listens would be lost); resolves
   * with `fallback` if it dies first, or does not answer within `timeoutMs` (when given).
   */
  async request<T>(msg: DistributiveOmit<Extract<ToWorker, { seq: number }>, 'seq'>, fallback: T, timeoutMs = 0): Promise<T> {
    await this.ready;
    const w = this.worker;
    if (!w || !w.isConnected()) return fallback;
    const seq = ++this.seq;
    const v = await new Promise<unknown>((resolve) => {
      this.pending.set(seq, resolve);
      if (timeoutMs) setTimeout(() => this.reply(seq, undefined), timeoutMs).unref();
      w.send({ ...msg, seq } as ToWorker);
    });
    return v === undefined ? fallback : (v as T);
  }

  reply(seq: number, value: unknown): void {
    const r = this.pending.get(seq);
    this.pending.delete(seq);
    r?.(value);
  }

  /** The worker is gone: whatever it was asked resolves empty. */
  abandon(): void {
    for (const r of this.pending.values()) r(undefined);
    this.pending.clear();
  }
}

/** The primary's proxy: compiles and validates, runs health, and fans updates out to the workers. */
export class ControlProxy extends Proxy {
  private readonly handles: WorkerHandle[] = [];
  private fanout: Promise<unknown> = Promise.resolve();
  private readonly ports = new Map<string, number>();
  private readonly trafficSeen = new Set<string>();
  private closing = false;

  constructor(readonly concurrency: number, options: ProxyOptions) {
    const link: HealthLink = {};
    super({ ...options, listen: async () => {}, extensions: { udp: absentUdp }, health: { role: 'control', link } });
    link.publish = (c, key, flags) => this.broadcast({ t: 'health', items: [[c, key, flags]] });
    link.trafficSeen = (c) => this.trafficSeen.has(c);
    link.collect = (c) => this.collectOutlierCounts(c);
  }

  /** Forks the workers and waits until each is ready. */
  async start(): Promise<void> {
    // JSON messages: Node 20's 'advanced' IPC deserializer can stall on a message split across
    // reads (nodejs/node#55834), and everything sent here is plain JSON anyway.
    cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker_main.js', import.meta.url)), args: [], serialization: 'json' });
    for (let i = 0; i < this.concurrency; i++) this.handles.push(new WorkerHandle(i));
    await Promise.all(this.handles.map((h) => this.spawn(h)));
  }

  private spawn(h: WorkerHandle): Promise<void> {
    const w = cluster.fork({ EGTS_PROXY_WORKER: String(h.index) });
    h.worker = w;
    // A message to a worker whose channel is closing fails (EPIPE, channel closed); its 'exit'
    // follows and is what counts, so the failed send is not an error of the primary.
    w.on('error', () => {});
    h.ready = new Promise<void>((resolve) => {
      w.on('message', (m: FromWorker) => {
        switch (m.t) {
          // The worker listens for messages from now on: it can be told who it is.
          case 'hello': w.send({ t: 'init', index: h.index, drainMs: this.options.drainTimeoutMs ?? 5000 } satisfies ToWorker); break;
          case 'ready': resolve(); break;
          case 'reply': h.reply(m.seq, m.value); break;
          case 'eject': { const cl = this.clusters.get(m.cluster); if (cl) reportEjection(cl, m.key, m.type); break; }
          case 'traffic': this.trafficSeen.add(m.cluster); break;
          // State shared by all workers (primary_calls.ts), e.g. local rate limit buckets.
          case 'call': void Promise.resolve(answerCall(m.service, m.payload)).then((value) => { if (w.isConnected()) w.send({ t: 'answer', seq: m.seq, value } satisfies ToWorker); }); break;
        }
      });
      w.once('exit', () => {
        h.abandon();
        resolve();
        if (this.closing || h.worker !== w) return;
        console.error(`egts proxy: worker ${h.index} exited; starting it again`);
        // Started again in the update queue, so that it gets the configuration as it is then.
        this.fanout = this.fanout.then(() => this.spawn(h).then(() => this.replay(h)), () => undefined);
      });
    });
    return h.ready;
  }

  /** A (re)started worker gets the whole configuration, then the current host health. */
  private async replay(h: WorkerHandle): Promise<void> {
    const updates = APPLY_ORDER.map((type) => ({ type, resources: [...(this.resources.get(type)?.values() ?? [])] as Json[], sotw: true }));
    await h.request<AppliedReply | undefined>({ t: 'apply', updates }, undefined);
    const items: [string, string, number][] = [];
    for (const [name, cl] of this.clusters) for (const host of cl.hosts) items.push([name, host.key, host.healthFlags & HEALTH_FLAGS]);
    if (items.length) h.worker?.send({ t: 'health', items } satisfies ToWorker);
  }

  private broadcast(m: ToWorker): void {
    for (const h of this.handles) void h.ready.then(() => { if (h.worker?.isConnected()) h.worker.send(m); });
  }

  override apply(updates: ResourceUpdate[]): Promise<ConfigProblem[]> {
    const run = this.fanout.then(async () => {
      const problems = await super.apply(updates);
      if (problems.length) return problems;
      const replies = await Promise.all(this.handles.map((h) => h.request<AppliedReply | undefined>({ t: 'apply', updates }, undefined)));
      const out = new Map<string, ConfigProblem>();
      for (const r of replies) for (const p of r?.problems ?? []) out.set(`${p.kind}/${p.name}/${p.field}`, p);
      for (const p of out.values()) if (p.kind === 'Listener') this.resources.get(LISTENER)?.delete(p.name);
      const first = replies[0];
      if (first) { this.ports.clear(); for (const [n, port] of first.ports) this.ports.set(n, port); }
      return [...out.values()];
    });
    this.fanout = run.catch(() => undefined);
    return run;
  }

  /** The port a listener is bound to in the workers. */
  listenerPort(name: string): number | undefined {
    return this.ports.get(name);
  }

  async stats(): Promise<StatsSnapshot> {
    const snap = takeSnapshot(this, 'control');
    snap.gauges['server.concurrency'] = this.concurrency;
    // A worker that does not answer in time is left out rather than holding the admin endpoint.
    const parts = await Promise.all(this.handles.map((h) => h.request<StatsSnapshot | undefined>({ t: 'stats' }, undefined, 5000)));
    for (const p of parts) if (p) mergeSnapshot(snap, p);
    return snap;
  }

  private async collectOutlierCounts(clusterName: string): Promise<Map<string, IntervalCounts>> {
    const parts = await Promise.all(this.handles.map((h) => h.request<[string, IntervalCounts][] | undefined>({ t: 'outlier', cluster: clusterName }, undefined, 5000)));
    const out = new Map<string, IntervalCounts>();
    for (const p of parts) {
      for (const [key, c] of p ?? []) {
        const cur = out.get(key);
        if (!cur) out.set(key, { ...c });
        else { cur.extTotal += c.extTotal; cur.extSuccess += c.extSuccess; cur.localTotal += c.localTotal; cur.localSuccess += c.localSuccess; }
      }
    }
    return out;
  }

  /** Every worker stops accepting and drains its connections (admin /drain_listeners). */
  async drainListeners(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.request<unknown>({ t: 'drain' }, undefined)));
  }

  /** Shuts the workers down: they stop accepting and drain for up to drainMs, then exit. */
  override async close(drainMs = 0): Promise<void> {
    this.closing = true;
    const exits = this.handles.map((h) => new Promise<void>((resolve) => {
      const w = h.worker;
      if (!w || w.isDead()) { resolve(); return; }
      const kill = setTimeout(() => w.process.kill('SIGKILL'), drainMs + 3000);
      w.once('exit', () => { clearTimeout(kill); resolve(); });
      if (w.isConnected()) w.send({ t: 'shutdown', drainMs } satisfies ToWorker);
      else w.process.kill('SIGTERM');
    }));
    await Promise.all(exits);
    await super.close(0);
  }
}

/** The worker side: a data-plane proxy driven by the primary's messages. */
export function runWorker(): void {
  let proxy: Proxy | undefined;
  const reported = new Set<string>();
  // Without a callback a failed send (the primary is going away) would be thrown as an 'error'
  // event on the process; 'disconnect' ends the worker anyway.
  const send = (m: FromWorker) => { if (process.connected) process.send!(m, undefined, undefined, ignoreSendError); };
  // A worker ignores the signals its terminal sends to the whole group: the primary decides.
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'init': {
        worker.id = m.index;
        setPrimaryLink(send);
        const link: HealthLink = { report: (c, key, type) => send({ t: 'eject', cluster: c, key, type }) };
        proxy = new Proxy({ drainTimeoutMs: m.drainMs, health: { role: 'data', link }, extensions: m.index === 0 ? undefined : { udp: absentUdp } });
        // Tell the primary once a cluster carried traffic (health checks then leave the no-traffic interval).
        const p = proxy;
        setInterval(() => {
          for (const [name, cl] of p.clusters) if (!reported.has(name) && cl.stats.upstream_cx_total > 0) { reported.add(name); send({ t: 'traffic', cluster: name }); }
        }, 1000).unref();
        send({ t: 'ready' });
        break;
      }
      case 'apply':
        void proxy!.apply(m.updates).then((problems) => {
          const ports: [string, number][] = proxy!.listeners.names().map((n) => [n, proxy!.listeners.boundPort(n) ?? 0]);
          send({ t: 'reply', seq: m.seq, value: { problems, ports } satisfies AppliedReply });
        });
        break;
      case 'health':
        for (const [c, key, flags] of m.items) { const cl = proxy?.clusters.get(c); if (cl) applyHealthFlags(cl, key, flags); }
        break;
      case 'stats':
        send({ t: 'reply', seq: m.seq, value: proxy ? takeSnapshot(proxy, 'data') : undefined });
        break;
      case 'outlier': {
        const cl = proxy?.clusters.get(m.cluster);
        send({ t: 'reply', seq: m.seq, value: cl ? takeOutlierCounts(cl) : [] });
        break;
      }
      case 'drain':
        healthState.failing = true;
        void proxy?.listeners.close(proxy.options.drainTimeoutMs ?? 5000).then(() => send({ t: 'reply', seq: m.seq, value: true }));
        break;
      case 'answer':
        takeAnswer(m.seq, m.value);
        break;
      case 'shutdown':
        healthState.failing = true;
        void (proxy?.close(m.drainMs) ?? Promise.resolve()).then(() => process.exit(0));
        break;
    }
  });
  send({ t: 'hello' });
}

function ignoreSendError(): void {}
