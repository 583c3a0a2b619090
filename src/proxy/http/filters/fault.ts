// envoy.filters.http.fault: fault injection. A request the fault applies to (its route's
// HTTPFault, which replaces the filter's own, the configured upstream cluster, header matchers
// and downstream nodes) is delayed, then aborted with an HTTP status (body "fault filter abort")
// or a gRPC status, each with its own percentage; the response can be throttled. With
// header_delay / header_abort / header_limit the request's x-envoy-fault-* headers choose the
// values, within the configured percentage. max_active_faults bounds the faults in flight.
import { ConfigError } from '../../config/errors.js';
import { at, durationMs, field, fraction, list, num, obj, str, type Json } from '../../config/json.js';
import { compileHeaderMatcher } from '../../router/route_match.js';

type Pred = ReturnType<typeof compileHeaderMatcher>;
import { counter, gauge } from '../../stats.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { getHeader, type HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { Throttle } from './throttle.js';

const CONFIG_TYPE = 'envoy.extensions.filters.http.fault.v3.HTTPFault';

interface FaultConfig {
  delay: { fixedMs: number | undefined; fromHeader: boolean; percentage: number; denominator: number } | undefined;
  abort: { httpStatus: number | undefined; grpcStatus: number | undefined; fromHeader: boolean; percentage: number; denominator: number } | undefined;
  rateLimit: { kiBps: number | undefined; fromHeader: boolean; percentage: number } | undefined;
  upstreamCluster: string;
  headers: Pred[];
  downstreamNodes: Set<string> | undefined;
  maxActiveFaults: number | undefined;
}

/** A FractionalPercent's probability and denominator (header percentages count against it). */
function percentage(c: Json, path: string): { percentage: number; denominator: number } {
  const p = obj(c, 'percentage', path);
  if (!p) return { percentage: 1, denominator: 100 };
  const denom = String(field(p, 'denominator') ?? 'HUNDRED');
  const d = denom === 'MILLION' || denom === '2' ? 1000000 : denom === 'TEN_THOUSAND' || denom === '1' ? 10000 : 100;
  return { percentage: fraction(p, at(path, 'percentage')), denominator: d };
}

function compileFault(c: Json, path: string): FaultConfig {
  const d = obj(c, 'delay', path);
  const a = obj(c, 'abort', path);
  const rl = obj(c, 'responseRateLimit', path);
  const dp = at(path, 'delay');
  const ap = at(path, 'abort');
  let delay: FaultConfig['delay'];
  if (d) {
    const fixedMs = durationMs(d, 'fixedDelay', dp);
    const fromHeader = obj(d, 'headerDelay', dp) !== undefined;
    if (fixedMs === undefined && !fromHeader) throw new ConfigError(dp, 'one of fixed_delay or header_delay is required');
    delay = { fixedMs, fromHeader, ...percentage(d, dp) };
  }
  let abort: FaultConfig['abort'];
  if (a) {
    const httpStatus = num(a, 'httpStatus', ap);
    const grpcStatus = num(a, 'grpcStatus', ap);
    const fromHeader = obj(a, 'headerAbort', ap) !== undefined;
    if (httpStatus === undefined && grpcStatus === undefined && !fromHeader) throw new ConfigError(ap, 'one of http_status, grpc_status or header_abort is required');
    if (httpStatus !== undefined && (httpStatus < 200 || httpStatus >= 600)) throw new ConfigError(at(ap, 'httpStatus'), 'must be in [200, 600)');
    abort = { httpStatus, grpcStatus, fromHeader, ...percentage(a, ap) };
  }
  let rateLimit: FaultConfig['rateLimit'];
  if (rl) {
    const rp = at(path, 'responseRateLimit');
    const fixed = obj(rl, 'fixedLimit', rp);
    const fromHeader = obj(rl, 'headerLimit', rp) !== undefined;
    if (!fixed && !fromHeader) throw new ConfigError(rp, 'one of fixed_limit or header_limit is required');
    rateLimit = { kiBps: fixed ? num(fixed, 'limitKbps', at(rp, 'fixedLimit')) : undefined, fromHeader, percentage: percentage(rl, rp).percentage };
  }
  const nodes = list(c, 'downstreamNodes', path).map(String);
  const maf = field(c, 'maxActiveFaults');
  return {
    delay,
    abort,
    rateLimit,
    upstreamCluster: str(c, 'upstreamCluster', path),
    headers: list(c, 'headers', path).map((h: Json, i: number) => compileHeaderMatcher(h, at(at(path, 'headers'), i))),
    downstreamNodes: nodes.length ? new Set(nodes) : undefined,
    maxActiveFaults: maf === undefined || maf === null ? undefined : num(c, 'maxActiveFaults', path),
  };
}

const stats = { delays: counter('fault.delays_injected'), aborts: counter('fault.aborts_injected'), overflow: counter('fault.faults_overflow'), active: gauge('fault.active_faults') };

/** A header's number when set and valid, else undefined. */
function headerNumber(s: HttpStream, name: string): number | undefined {
  const v = getHeader(s.headers, name);
  if (v === undefined || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** Whether a fault fires: the configured probability, lowered by the request's header if any. */
function roll(s: HttpStream, p: { percentage: number; denominator: number }, header: string, fromHeader: boolean): boolean {
  let prob = p.percentage;
  if (fromHeader) {
    const h = headerNumber(s, header);
    if (h !== undefined) prob = Math.min(prob, h / p.denominator);
  }
  return prob >= 1 || Math.random() < prob;
}

interface State { active: boolean; timer?: NodeJS.Timeout; throttle?: Throttle; trailers?: HeaderList }

class FaultFilter implements HttpFilter {
  constructor(readonly name: string, private readonly config: FaultConfig) {}

  private state(s: HttpStream): State {
    const fs = (s.filterState ??= new Map());
    let st = fs.get(this) as State | undefined;
    if (!st) fs.set(this, (st = { active: false }));
    return st;
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    const r = s.route;
    if (!r) return FilterStatus.Continue;
    const own = s.perFilterConfig(this.name)?.config as FaultConfig | undefined;
    const c = own ?? this.config;
    if (!c.delay && !c.abort && !c.rateLimit) return FilterStatus.Continue;
    if (c.upstreamCluster && (r.action.kind !== 'route' || r.action.cluster !== c.upstreamCluster)) return FilterStatus.Continue;
    if (c.headers.length && !c.headers.every((m) => m(s))) return FilterStatus.Continue;
    if (c.downstreamNodes) {
      const node = getHeader(s.headers, 'x-envoy-downstream-service-node');
      if (node === undefined || !c.downstreamNodes.has(node)) return FilterStatus.Continue;
    }
    if (c.maxActiveFaults !== undefined && stats.active.value >= c.maxActiveFaults) { stats.overflow.value++; return FilterStatus.Continue; }
    const delayMs = this.delayFor(s, c);
    const abort = this.abortFor(s, c);
    this.maybeThrottle(s, c);
    if (delayMs === undefined && !abort) return FilterStatus.Continue;
    this.activate(s);
    if (delayMs !== undefined) {
      stats.delays.value++;
      s.responseFlags = s.responseFlags ? `${s.responseFlags},DI` : 'DI';
      this.state(s).timer = setTimeout(() => {
        if (s.done) return;
        if (abort) this.sendAbort(s, abort);
        else s.continueDecoding();
      }, delayMs);
      return FilterStatus.Stop;
    }
    this.sendAbort(s, abort!);
    return FilterStatus.Stop;
  }

  private delayFor(s: HttpStream, c: FaultConfig): number | undefined {
    const d = c.delay;
    if (!d || !roll(s, d, 'x-envoy-fault-delay-request-percentage', d.fromHeader)) return undefined;
    if (d.fromHeader) return headerNumber(s, 'x-envoy-fault-delay-request');
    return d.fixedMs;
  }

  private abortFor(s: HttpStream, c: FaultConfig): { http?: number; grpc?: number } | undefined {
    const a = c.abort;
    if (!a || !roll(s, a, 'x-envoy-fault-abort-request-percentage', a.fromHeader)) return undefined;
    if (a.fromHeader) {
      const grpc = headerNumber(s, 'x-envoy-fault-abort-grpc-request');
      if (grpc !== undefined) return { grpc };
      const http = headerNumber(s, 'x-envoy-fault-abort-request');
      if (http !== undefined && http >= 200 && http < 600) return { http };
      return undefined;
    }
    if (a.grpcStatus !== undefined) return { grpc: a.grpcStatus };
    return { http: a.httpStatus };
  }

  private maybeThrottle(s: HttpStream, c: FaultConfig): void {
    const rl = c.rateLimit;
    if (!rl || !(rl.percentage >= 1 || Math.random() < rl.percentage)) return;
    const kiBps = rl.fromHeader ? headerNumber(s, 'x-envoy-fault-throughput-response') : rl.kiBps;
    if (!kiBps) return;
    const st = this.state(s);
    st.throttle = new Throttle(kiBps, 50, (chunk, end) => s.injectEncodedData(this, chunk, end && !st.trailers), () => { if (st.trailers) s.injectEncodedTrailers(this, st.trailers); });
    this.activate(s);
    s.addDataFilter(this);
  }

  private activate(s: HttpStream): void {
    const st = this.state(s);
    if (st.active) return;
    st.active = true;
    stats.active.value++;
    s.watchCompletion(this);
  }

  private sendAbort(s: HttpStream, a: { http?: number; grpc?: number }): void {
    stats.aborts.value++;
    s.responseFlags = s.responseFlags ? `${s.responseFlags},FI` : 'FI';
    if (a.grpc !== undefined) {
      s.sendLocalReply(200, '', 'fault_filter_abort', ['content-type', 'application/grpc', 'grpc-status', String(a.grpc), 'grpc-message', 'fault filter abort']);
      return;
    }
    s.sendLocalReply(a.http ?? 503, 'fault filter abort', 'fault_filter_abort');
  }

  encodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const t = (s.filterState?.get(this) as State | undefined)?.throttle;
    if (!t) return chunk;
    t.write(chunk, end);
    return undefined;
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st?.throttle) return FilterStatus.Continue;
    st.trailers = trailers;
    st.throttle.write(Buffer.alloc(0), true);
    return FilterStatus.Stop;
  }

  onStreamComplete(s: HttpStream): void {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st?.active) return;
    st.active = false;
    stats.active.value--;
    if (st.timer) clearTimeout(st.timer);
    st.throttle?.close();
  }
}

registerHttpFilter({
  configType: CONFIG_TYPE,
  create: (name, c, path) => new FaultFilter(name, compileFault(c, path)),
  perRoute: { [CONFIG_TYPE]: compileFault },
});
