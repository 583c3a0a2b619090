// Outlier detection (passive health checking) as Envoy does it. Each host has a monitor fed on
// the data path: HTTP statuses from the router, connection outcomes from the pools and the TCP
// proxy. Consecutive 5xx, consecutive gateway failures (502/503/504) and, when local-origin
// errors are split out, consecutive local-origin failures eject a host as soon as their threshold
// is reached; every interval the success-rate and failure-percentage detectors look at the
// interval's counts over all hosts. An ejected host is out of load balancing for
// base_ejection_time x (number of recent ejections), capped at max_ejection_time, and no more
// than max_ejection_percent of the cluster is ejected at once.
//
// The detector (ejection authority) and the monitors may live in different processes: with
// workers, monitors run where traffic is and report threshold hits and interval counts to the
// primary, whose detector decides and publishes host health to every worker.
import { ConfigError } from '../config/errors.js';
import { at, bool, durationMs, field, numOr, obj, type Json } from '../config/json.js';
import type { Cluster } from '../upstream/cluster.js';
import { HealthFlag, type Host, type OutlierMonitor, type OutlierResult } from '../upstream/host.js';

export interface OutlierSettings {
  intervalMs: number;
  baseEjectionTimeMs: number;
  maxEjectionTimeMs: number;
  maxEjectionTimeJitterMs: number;
  maxEjectionPercent: number;
  alwaysEjectOneHost: boolean;
  splitExternalLocalOriginErrors: boolean;
  consecutive5xx: number;
  enforcingConsecutive5xx: number;
  consecutiveGatewayFailure: number;
  enforcingConsecutiveGatewayFailure: number;
  consecutiveLocalOriginFailure: number;
  enforcingConsecutiveLocalOriginFailure: number;
  enforcingSuccessRate: number;
  enforcingLocalOriginSuccessRate: number;
  successRateMinimumHosts: number;
  successRateRequestVolume: number;
  successRateStdevFactor: number;
  failurePercentageThreshold: number;
  enforcingFailurePercentage: number;
  enforcingFailurePercentageLocalOrigin: number;
  failurePercentageMinimumHosts: number;
  failurePercentageRequestVolume: number;
  successfulActiveHealthCheckUnejectHost: boolean;
}

export function compileOutlierDetection(o: Json, path: string): OutlierSettings {
  const n = (name: string, dflt: number, max?: number) => {
    const v = numOr(o, name, path, dflt);
    if (v < 0 || (max !== undefined && v > max)) throw new ConfigError(at(path, name), `must be between 0 and ${max ?? 'any'}`);
    return v;
  };
  const pct = (name: string, dflt: number) => n(name, dflt, 100);
  const positive = (name: string, dflt: number) => {
    const v = durationMs(o, name, path) ?? dflt;
    if (v <= 0) throw new ConfigError(at(path, name), 'must be greater than 0');
    return v;
  };
  if (field(o, 'monitors') !== undefined && (field(o, 'monitors') as unknown[]).length) throw new ConfigError(at(path, 'monitors'), 'outlier detection monitors are not supported');
  if (field(o, 'eventLogPath')) throw new ConfigError(at(path, 'eventLogPath'), 'outlier detection event logs are not supported');
  const base = positive('baseEjectionTime', 30_000);
  return {
    intervalMs: positive('interval', 10_000),
    baseEjectionTimeMs: base,
    maxEjectionTimeMs: Math.max(durationMs(o, 'maxEjectionTime', path) ?? 300_000, base),
    maxEjectionTimeJitterMs: durationMs(o, 'maxEjectionTimeJitter', path) ?? 0,
    maxEjectionPercent: pct('maxEjectionPercent', 10),
    alwaysEjectOneHost: bool(o, 'alwaysEjectOneHost', path),
    splitExternalLocalOriginErrors: bool(o, 'splitExternalLocalOriginErrors', path),
    consecutive5xx: n('consecutive5xx', 5),
    enforcingConsecutive5xx: pct('enforcingConsecutive5xx', 100),
    consecutiveGatewayFailure: n('consecutiveGatewayFailure', 5),
    enforcingConsecutiveGatewayFailure: pct('enforcingConsecutiveGatewayFailure', 0),
    consecutiveLocalOriginFailure: n('consecutiveLocalOriginFailure', 5),
    enforcingConsecutiveLocalOriginFailure: pct('enforcingConsecutiveLocalOriginFailure', 100),
    enforcingSuccessRate: pct('enforcingSuccessRate', 100),
    enforcingLocalOriginSuccessRate: pct('enforcingLocalOriginSuccessRate', 100),
    successRateMinimumHosts: n('successRateMinimumHosts', 5),
    successRateRequestVolume: n('successRateRequestVolume', 100),
    successRateStdevFactor: n('successRateStdevFactor', 1900),
    failurePercentageThreshold: pct('failurePercentageThreshold', 85),
    enforcingFailurePercentage: pct('enforcingFailurePercentage', 0),
    enforcingFailurePercentageLocalOrigin: pct('enforcingFailurePercentageLocalOrigin', 0),
    failurePercentageMinimumHosts: n('failurePercentageMinimumHosts', 5),
    failurePercentageRequestVolume: n('failurePercentageRequestVolume', 50),
    successfulActiveHealthCheckUnejectHost: bool(o, 'successfulActiveHealthCheckUnejectHost', path, true),
  };
  void obj;
}

export type EjectionType = 'consecutive_5xx' | 'consecutive_gateway_failure' | 'consecutive_local_origin_failure'
  | 'success_rate' | 'success_rate_local_origin' | 'failure_percentage' | 'failure_percentage_local_origin';

/** Counts of one interval for one host: external (HTTP status) and local-origin results. */
export interface IntervalCounts { extTotal: number; extSuccess: number; localTotal: number; localSuccess: number }

/** Where a monitor reports a consecutive-failure threshold hit. */
export type EjectionSink = (host: Host, type: EjectionType) => void;

/** Envoy's DetectorHostMonitor: the per-host counters, on the data path. */
export class HostMonitor implements OutlierMonitor {
  private consecutive5xx = 0;
  private consecutiveGateway = 0;
  private consecutiveLocal = 0;
  counts: IntervalCounts = { extTotal: 0, extSuccess: 0, localTotal: 0, localSuccess: 0 };

  constructor(private readonly host: Host, private readonly settings: OutlierSettings, private readonly sink: EjectionSink) {}

  putHttpResponseCode(code: number): void {
    const c = this.counts;
    c.extTotal++;
    if (code >= 500) {
      const s = this.settings;
      if (code >= 502 && code <= 504 && ++this.consecutiveGateway === s.consecutiveGatewayFailure) this.sink(this.host, 'consecutive_gateway_failure');
      if (++this.consecutive5xx === s.consecutive5xx) this.sink(this.host, 'consecutive_5xx');
      return;
    }
    c.extSuccess++;
    this.consecutive5xx = 0;
    this.consecutiveGateway = 0;
  }

  putResult(result: OutlierResult): void {
    if (!this.settings.splitExternalLocalOriginErrors) {
      // Without the split, local-origin results stand for HTTP statuses (Envoy's mapping).
      switch (result) {
        case 'connect-failed': this.putHttpResponseCode(503); return;
        case 'timeout': this.putHttpResponseCode(504); return;
        case 'request-failed': this.putHttpResponseCode(500); return;
        case 'request-success':
        case 'connect-success-final': this.putHttpResponseCode(200); return;
        case 'connect-success': return; // the HTTP status that follows decides
      }
    }
    const c = this.counts;
    switch (result) {
      case 'connect-failed':
      case 'timeout':
      case 'request-failed':
        c.localTotal++;
        if (++this.consecutiveLocal === this.settings.consecutiveLocalOriginFailure) this.sink(this.host, 'consecutive_local_origin_failure');
        return;
      case 'connect-success':
      case 'connect-success-final':
      case 'request-success':
        c.localTotal++;
        c.localSuccess++;
        this.consecutiveLocal = 0;
        return;
    }
  }

  resetConsecutive(): void {
    this.consecutive5xx = 0;
    this.consecutiveGateway = 0;
    this.consecutiveLocal = 0;
  }

  /** Hands over this interval's counts and starts the next interval. */
  takeCounts(): IntervalCounts {
    const c = this.counts;
    this.counts = { extTotal: 0, extSuccess: 0, localTotal: 0, localSuccess: 0 };
    return c;
  }
}

interface EjectionState {
  ejected: boolean;
  lastEjection: number;
  lastUnejection: number;
  /** How many base ejection times the next ejection lasts (grows with repeated ejections). */
  backoff: number;
  jitterMs: number;
}

/** Envoy's outlier DetectorImpl for one cluster: the ejection authority. */
export class OutlierDetector {
  private readonly state = new Map<Host, EjectionState>();
  private timer: NodeJS.Timeout | undefined;
  private ejectionsActive = 0;

  /**
   * `collect` gathers the interval counts per host key (from local monitors, or from the
   * workers); `changed` is told when a host's ejection flag changed.
   */
  constructor(
    private readonly cluster: Cluster,
    readonly settings: OutlierSettings,
    private readonly collect: () => Promise<Map<string, IntervalCounts>> | Map<string, IntervalCounts>,
    private readonly changed: (host: Host) => void,
  ) {
    this.timer = setInterval(() => { void this.onInterval(); }, settings.intervalMs);
    this.timer.unref();
  }

  get active(): number {
    return this.ejectionsActive;
  }

  isEjected(host: Host): boolean {
    return this.state.get(host)?.ejected ?? false;
  }

  hostsRemoved(removed: Host[]): void {
    for (const h of removed) {
      const st = this.state.get(h);
      if (st?.ejected) this.ejectionsActive--;
      this.state.delete(h);
    }
  }

  /** A monitor's consecutive threshold was reached. */
  onConsecutive(host: Host, type: EjectionType): void {
    if (!this.cluster.hosts.includes(host)) return;
    if (this.state.get(host)?.ejected) return;
    const s = this.settings;
    const stats = this.cluster.stats;
    let enforcing = 0;
    if (type === 'consecutive_5xx') { stats.outlier_ejections_detected_consecutive_5xx++; enforcing = s.enforcingConsecutive5xx; }
    else if (type === 'consecutive_gateway_failure') { stats.outlier_ejections_detected_consecutive_gateway_failure++; enforcing = s.enforcingConsecutiveGatewayFailure; }
    else if (type === 'consecutive_local_origin_failure') { stats.outlier_ejections_detected_consecutive_local_origin_failure++; enforcing = s.enforcingConsecutiveLocalOriginFailure; }
    this.eject(host, type, enforcing);
  }

  private eject(host: Host, type: EjectionType, enforcingPercent: number): void {
    const s = this.settings;
    const stats = this.cluster.stats;
    const total = this.cluster.hosts.length;
    const ejectedPercent = total ? (100 * (this.ejectionsActive + 1)) / total : 100;
    if (!(ejectedPercent <= s.maxEjectionPercent || (s.alwaysEjectOneHost && this.ejectionsActive === 0))) {
      stats.outlier_ejections_overflow++;
      return;
    }
    if (enforcingPercent < 100 && Math.random() * 100 >= enforcingPercent) return;
    let st = this.state.get(host);
    if (!st) this.state.set(host, (st = { ejected: false, lastEjection: 0, lastUnejection: 0, backoff: 0, jitterMs: 0 }));
    const now = Date.now();
    st.ejected = true;
    st.lastEjection = now;
    if (s.baseEjectionTimeMs * st.backoff < s.maxEjectionTimeMs) st.backoff++;
    st.jitterMs = s.maxEjectionTimeJitterMs ? Math.floor(Math.random() * s.maxEjectionTimeJitterMs) : 0;
    this.ejectionsActive++;
    stats.outlier_ejections_enforced_total++;
    switch (type) {
      case 'consecutive_5xx': stats.outlier_ejections_enforced_consecutive_5xx++; break;
      case 'consecutive_gateway_failure': stats.outlier_ejections_enforced_consecutive_gateway_failure++; break;
      case 'consecutive_local_origin_failure': stats.outlier_ejections_enforced_consecutive_local_origin_failure++; break;
      case 'success_rate': case 'success_rate_local_origin': stats.outlier_ejections_enforced_success_rate++; break;
      case 'failure_percentage': case 'failure_percentage_local_origin': stats.outlier_ejections_enforced_failure_percentage++; break;
    }
    host.healthFlags |= HealthFlag.OutlierEjected;
    this.changed(host);
  }

  private uneject(host: Host, st: EjectionState, now: number): void {
    st.ejected = false;
    st.lastUnejection = now;
    this.ejectionsActive--;
    host.healthFlags &= ~HealthFlag.OutlierEjected;
    // Fresh counters, so that a few new errors do not eject the host again at once.
    if (host.outlier instanceof HostMonitor) host.outlier.resetConsecutive();
    this.changed(host);
  }

  /** An active health check passed: an ejected host comes back (successful_active_health_check_uneject_host). */
  onActiveHealthCheckSuccess(host: Host): void {
    const st = this.state.get(host);
    if (st?.ejected && this.settings.successfulActiveHealthCheckUnejectHost) this.uneject(host, st, Date.now());
  }

  private async onInterval(): Promise<void> {
    const counts = await this.collect();
    const s = this.settings;
    const now = Date.now();
    for (const [host, st] of this.state) {
      if (st.ejected) {
        const ejectFor = Math.min(s.baseEjectionTimeMs * st.backoff, s.maxEjectionTimeMs) + st.jitterMs;
        if (now - st.lastEjection >= ejectFor) this.uneject(host, st, now);
      } else if (st.backoff > 0 && now - st.lastUnejection >= s.baseEjectionTimeMs) {
        // A host that stayed healthy earns back shorter ejections.
        st.backoff--;
        st.lastUnejection = now;
      }
    }
    const hosts = this.cluster.hosts;
    this.rateDetectors(hosts, counts, false);
    if (s.splitExternalLocalOriginErrors) this.rateDetectors(hosts, counts, true);
  }

  private rateDetectors(hosts: Host[], counts: Map<string, IntervalCounts>, local: boolean): void {
    const s = this.settings;
    const rates: { host: Host; rate: number; volume: number }[] = [];
    for (const h of hosts) {
      const c = counts.get(h.key);
      if (!c) continue;
      const total = local ? c.localTotal : c.extTotal;
      if (!total) continue;
      rates.push({ host: h, rate: (100 * (local ? c.localSuccess : c.extSuccess)) / total, volume: total });
    }
    // Success rate: hosts well below the mean (mean - stdev x factor) are outliers.
    const sr = rates.filter((r) => r.volume >= s.successRateRequestVolume);
    if (sr.length >= s.successRateMinimumHosts && sr.length > 0) {
      const mean = sr.reduce((a, r) => a + r.rate, 0) / sr.length;
      const variance = sr.reduce((a, r) => a + (r.rate - mean) ** 2, 0) / sr.length;
      const threshold = mean - Math.sqrt(variance) * (s.successRateStdevFactor / 1000);
      for (const r of sr) {
        if (r.rate >= threshold || this.state.get(r.host)?.ejected) continue;
        this.cluster.stats.outlier_ejections_detected_success_rate++;
        this.eject(r.host, local ? 'success_rate_local_origin' : 'success_rate', local ? s.enforcingLocalOriginSuccessRate : s.enforcingSuccessRate);
      }
    }
    // Failure percentage: an absolute bar.
    const fp = rates.filter((r) => r.volume >= s.failurePercentageRequestVolume);
    if (fp.length >= s.failurePercentageMinimumHosts && fp.length > 0) {
      for (const r of fp) {
        if (100 - r.rate < s.failurePercentageThreshold || this.state.get(r.host)?.ejected) continue;
        this.cluster.stats.outlier_ejections_detected_failure_percentage++;
        this.eject(r.host, local ? 'failure_percentage_local_origin' : 'failure_percentage', local ? s.enforcingFailurePercentageLocalOrigin : s.enforcingFailurePercentage);
      }
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
