// A cluster's health as active health checking and outlier detection keep it, attached to each
// live Cluster. Where the work happens depends on the process's role:
//  - 'local' (one process): checks, monitors and the ejection authority all run here;
//  - 'control' (the primary of a multi-worker proxy): checks and the ejection authority run here,
//    host health changes are published to the workers, monitors' counts are collected from them;
//  - 'data' (a worker): monitors count this worker's traffic and report threshold hits; host
//    health arrives from the primary (applyHealthFlags).
import type { Cluster, ClusterObserver } from '../upstream/cluster.js';
import { HealthFlag, type Host } from '../upstream/host.js';
import { HealthChecker } from './active.js';
import { HostMonitor, OutlierDetector, type EjectionType, type IntervalCounts } from './outlier.js';

export type HealthRole = 'local' | 'control' | 'data';

/** The wires between a control process and its data processes (see workers.ts). */
export interface HealthLink {
  /** control: publish a host's health flags (HEALTH_FLAGS bits) to the data plane. */
  publish?(cluster: string, hostKey: string, flags: number): void;
  /** data: a monitor reached a consecutive-failure threshold. */
  report?(cluster: string, hostKey: string, type: EjectionType): void;
  /** control: this interval's counts from the data plane, by host key. */
  collect?(cluster: string): Promise<Map<string, IntervalCounts>>;
  /** control: whether the data plane carried traffic to the cluster. */
  trafficSeen?(cluster: string): boolean;
}

export interface HealthOptions {
  role: HealthRole;
  link?: HealthLink;
}

/** The host flags owned by active health checking and outlier detection. */
export const HEALTH_FLAGS = HealthFlag.ActiveHcFailed | HealthFlag.PendingActiveHc | HealthFlag.DegradedActiveHc | HealthFlag.OutlierEjected;

const attached = new WeakMap<Cluster, ClusterHealth>();

class ClusterHealth implements ClusterObserver {
  readonly checker: HealthChecker | undefined;
  readonly detector: OutlierDetector | undefined;

  constructor(private readonly cluster: Cluster, private readonly o: HealthOptions) {
    const s = cluster.settings;
    const hc = s.healthChecks[0];
    const link = o.link ?? {};
    if (hc && o.role !== 'data') {
      this.checker = new HealthChecker(cluster, hc, {
        changed: (h) => this.changed(h),
        passed: (h) => this.detector?.onActiveHealthCheckSuccess(h),
        trafficSeen: () => (o.role === 'control' ? link.trafficSeen?.(cluster.name) ?? true : cluster.stats.upstream_cx_total > 0),
      });
    }
    if (s.outlierDetection && o.role !== 'data') {
      const collect = o.role === 'control' && link.collect
        ? () => link.collect!(cluster.name)
        : () => {
          const m = new Map<string, IntervalCounts>();
          for (const h of cluster.hosts) if (h.outlier instanceof HostMonitor) m.set(h.key, h.outlier.takeCounts());
          return m;
        };
      this.detector = new OutlierDetector(cluster, s.outlierDetection, collect, (h) => this.changed(h));
    }
  }

  hostsChanged(_c: Cluster, added: Host[], removed: Host[]): void {
    const s = this.cluster.settings;
    if (this.checker) this.checker.hostsChanged(added, removed);
    // A data process mirrors the checker's starting state until the primary says otherwise.
    else if (s.healthChecks.length) for (const h of added) h.healthFlags |= HealthFlag.ActiveHcFailed | HealthFlag.PendingActiveHc;
    this.detector?.hostsRemoved(removed);
    const od = s.outlierDetection;
    if (od && this.o.role !== 'control') {
      for (const h of added) {
        if (this.o.role === 'local') h.outlier = new HostMonitor(h, od, (host, type) => this.detector!.onConsecutive(host, type));
        else h.outlier = new HostMonitor(h, od, (host, type) => this.o.link?.report?.(this.cluster.name, host.key, type));
      }
    }
    for (const h of removed) h.outlier = undefined;
    if (added.length && (this.checker || s.healthChecks.length)) this.cluster.healthChanged();
  }

  private changed(h: Host): void {
    this.cluster.healthChanged();
    if (this.o.role === 'control') this.o.link?.publish?.(this.cluster.name, h.key, h.healthFlags & HEALTH_FLAGS);
  }

  closed(): void {
    this.checker?.close();
    this.detector?.close();
  }
}

/** Attaches health checking and outlier detection (as the cluster asks) to a new cluster. */
export function attachClusterHealth(cluster: Cluster, o: HealthOptions): void {
  const s = cluster.settings;
  if (!s.healthChecks.length && !s.outlierDetection) return;
  const ch = new ClusterHealth(cluster, o);
  attached.set(cluster, ch);
  cluster.observers.push(ch);
  if (cluster.hosts.length) ch.hostsChanged(cluster, cluster.hosts, []);
}

/** data role: the primary says what a host's health flags are. */
export function applyHealthFlags(cluster: Cluster, hostKey: string, flags: number): void {
  for (const h of cluster.hosts) {
    if (h.key !== hostKey) continue;
    const before = h.healthFlags;
    h.healthFlags = (before & ~HEALTH_FLAGS) | (flags & HEALTH_FLAGS);
    if (before & HealthFlag.OutlierEjected && !(flags & HealthFlag.OutlierEjected) && h.outlier instanceof HostMonitor) h.outlier.resetConsecutive();
    if (before !== h.healthFlags) cluster.healthChanged();
  }
}

/** data role: this interval's outlier counts for a cluster, by host key (and a new interval). */
export function takeOutlierCounts(cluster: Cluster): [string, IntervalCounts][] {
  const out: [string, IntervalCounts][] = [];
  for (const h of cluster.hosts) if (h.outlier instanceof HostMonitor) out.push([h.key, h.outlier.takeCounts()]);
  return out;
}

/** control role: a data process reported a consecutive-failure threshold hit. */
export function reportEjection(cluster: Cluster, hostKey: string, type: EjectionType): void {
  const ch = attached.get(cluster);
  const host = cluster.hosts.find((h) => h.key === hostKey);
  if (ch?.detector && host) ch.detector.onConsecutive(host, type);
}

/** The detector of a cluster, for admin output (ejections active). */
export function outlierDetectorOf(cluster: Cluster): OutlierDetector | undefined {
  return attached.get(cluster)?.detector;
}
