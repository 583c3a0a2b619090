// envoy.filters.http.admission_control: client-side throttling from the Google SRE book. Requests
// and their successes are counted over a sliding window (one-second buckets, per worker process as
// Envoy keeps them per worker thread); a new request is rejected with 503 with probability
//   min(max_rejection_probability, max(0, (total - successes / sr_threshold) / (total + 1)) ^ (1 / aggression))
// unless the window's average rate is below rps_threshold. Success is the HTTP status (below 500
// by default, or the configured ranges) or, for gRPC, the grpc-status (Envoy's default list, or
// the configured codes). Rejected requests are not counted. Envoy Gateway runs it as an upstream
// filter of the backend's cluster.
import { ConfigError } from '../../config/errors.js';
import { at, durationMs, field, list, num, obj, type Json } from '../../config/json.js';
import { counter } from '../../stats.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader } from '../headers.js';
import type { HttpStream } from '../stream.js';

const CONFIG_TYPE = 'envoy.extensions.filters.http.admission_control.v3.AdmissionControl';
/** gRPC codes that sending less would not change: successes unless configured otherwise. */
const DEFAULT_GRPC_SUCCESS = [0, 1, 2, 3, 5, 6, 16, 9, 11, 7, 12];

interface AdmissionConfig {
  enabled: boolean;
  windowS: number;
  aggression: number;
  srThreshold: number;
  rpsThreshold: number;
  maxRejection: number;
  httpSuccess: (status: number) => boolean;
  grpcSuccess: Set<number>;
}

/** A runtime value's default (there is no runtime): `defaultValue`, a Percent's `value` inside. */
function runtimeDefault(c: Json, name: string, path: string): number | boolean | undefined {
  const r = obj(c, name, path);
  if (!r) return undefined;
  const v = field(r, 'defaultValue');
  if (v && typeof v === 'object') return num(v, 'value', at(path, `${name}.defaultValue`));
  return typeof v === 'string' ? Number(v) : v;
}

function percent(c: Json, name: string, path: string, dflt: number): number {
  const v = runtimeDefault(c, name, path);
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !(v >= 0 && v <= 100)) throw new ConfigError(at(path, name), 'must be a percentage between 0 and 100');
  return v / 100;
}

function compile(c: Json, path: string): AdmissionConfig {
  const sc = obj(c, 'successCriteria', path);
  if (!sc) throw new ConfigError(at(path, 'successCriteria'), 'required');
  const sp = at(path, 'successCriteria');
  const hc = obj(sc, 'httpCriteria', sp);
  let httpSuccess = (status: number) => status < 500;
  if (hc) {
    const ranges = list(hc, 'httpSuccessStatus', at(sp, 'httpCriteria')).map((r: Json, i: number) => {
      const rp = at(at(sp, 'httpCriteria.httpSuccessStatus'), i);
      const start = num(r, 'start', rp) ?? 0;
      const end = num(r, 'end', rp) ?? 0;
      if (start < 100 || end > 600 || start >= end) throw new ConfigError(rp, 'a status range [start, end) within [100, 600) is required');
      return [start, end] as const;
    });
    if (!ranges.length) throw new ConfigError(at(sp, 'httpCriteria.httpSuccessStatus'), 'at least one range is required');
    httpSuccess = (status) => ranges.some(([a, b]) => status >= a && status < b);
  }
  const gc = obj(sc, 'grpcCriteria', sp);
  const grpc = gc ? list(gc, 'grpcSuccessStatus', at(sp, 'grpcCriteria')).map(Number) : DEFAULT_GRPC_SUCCESS;
  if (gc && !grpc.length) throw new ConfigError(at(sp, 'grpcCriteria.grpcSuccessStatus'), 'at least one code is required');
  const window = durationMs(c, 'samplingWindow', path) ?? 30_000;
  const aggression = runtimeDefault(c, 'aggression', path);
  const rps = runtimeDefault(c, 'rpsThreshold', path);
  return {
    enabled: runtimeDefault(c, 'enabled', path) !== false,
    windowS: Math.max(1, Math.round(window / 1000)),
    aggression: typeof aggression === 'number' && aggression > 1 ? aggression : 1,
    srThreshold: percent(c, 'srThreshold', path, 0.95),
    rpsThreshold: typeof rps === 'number' ? rps : 0,
    maxRejection: percent(c, 'maxRejectionProbability', path, 0.8),
    httpSuccess,
    grpcSuccess: new Set(grpc),
  };
}

/** Requests and successes per second over the last `windowS` seconds. */
class SlidingWindow {
  private readonly total: Float64Array;
  private readonly success: Float64Array;
  private second = 0;
  totalSum = 0;
  successSum = 0;

  constructor(private readonly windowS: number) {
    this.total = new Float64Array(windowS);
    this.success = new Float64Array(windowS);
  }

  /** Moves the window to now, forgetting the seconds that fell out. */
  advance(nowS: number): void {
    if (nowS === this.second) return;
    const gap = Math.min(nowS - this.second, this.windowS);
    for (let i = 1; i <= gap; i++) {
      const b = (this.second + i) % this.windowS;
      this.totalSum -= this.total[b]!;
      this.successSum -= this.success[b]!;
      this.total[b] = 0;
      this.success[b] = 0;
    }
    this.second = nowS;
  }

  record(ok: boolean): void {
    this.advance(Math.floor(Date.now() / 1000));
    const b = this.second % this.windowS;
    this.total[b]!++;
    this.totalSum++;
    if (ok) { this.success[b]!++; this.successSum++; }
  }
}

const stats = { rejected: counter('admission_control.rq_rejected'), success: counter('admission_control.rq_success'), failure: counter('admission_control.rq_failure') };

class AdmissionControlFilter implements HttpFilter {
  private readonly window: SlidingWindow;

  constructor(readonly name: string, private readonly config: AdmissionConfig) {
    this.window = new SlidingWindow(config.windowS);
  }

  /** The probability a new request is rejected now. */
  rejectionProbability(): number {
    const c = this.config;
    const w = this.window;
    w.advance(Math.floor(Date.now() / 1000));
    const total = w.totalSum;
    if (total / c.windowS < c.rpsThreshold) return 0;
    const p = Math.max(0, (total - w.successSum / c.srThreshold) / (total + 1)) ** (1 / c.aggression);
    return Math.min(p, c.maxRejection);
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    if (!this.config.enabled) return FilterStatus.Continue;
    const p = this.rejectionProbability();
    if (p > 0 && Math.random() < p) {
      stats.rejected.value++;
      s.sendLocalReply(503, '', 'denied_by_admission_control');
      return FilterStatus.Stop;
    }
    s.watchCompletion(this);
    return FilterStatus.Continue;
  }

  onStreamComplete(s: HttpStream): void {
    const ok = this.succeeded(s);
    (ok ? stats.success : stats.failure).value++;
    this.window.record(ok);
  }

  private succeeded(s: HttpStream): boolean {
    // No response at all (a reset) is a failure.
    if (!s.responseCode) return false;
    const ct = getHeader(s.headers, 'content-type');
    if (ct?.startsWith('application/grpc')) {
      const g = (s.responseTrailers && getHeader(s.responseTrailers, 'grpc-status')) ?? (s.responseHeaders && getHeader(s.responseHeaders, 'grpc-status'));
      if (g !== undefined) return this.config.grpcSuccess.has(Number(g));
    }
    return this.config.httpSuccess(s.responseCode);
  }
}

registerHttpFilter({
  configType: CONFIG_TYPE,
  create: (name, c, path) => new AdmissionControlFilter(name, compile(c, path)),
});
