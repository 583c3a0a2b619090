// envoy.filters.http.bandwidth_limit: request and/or response bodies pass at most limit_kbps KiB
// per second, a slice every fill_interval (default 50 ms); bytes that must wait are held and sent
// on later fills, so clients see slower transfers rather than errors. The token bucket belongs to
// the config: every stream of a route with a per-route config shares that route's bucket (per
// proxy process, as Envoy's is per process). Envoy Gateway installs the filter disabled and
// enables it per route. With enable_response_trailers, the delays the filter added go out as
// response trailers (`<prefix>-bandwidth-*-delay-ms`).
import { ConfigError } from '../../config/errors.js';
import { at, bool, durationMs, enumOf, field, num, obj, str, type Json } from '../../config/json.js';
import { counter, type Counter } from '../../stats.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import type { HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { SharedBucket, Throttle } from './throttle.js';

const CONFIG_TYPE = 'envoy.extensions.filters.http.bandwidth_limit.v3.BandwidthLimit';
const MODES = ['DISABLED', 'REQUEST', 'RESPONSE', 'REQUEST_AND_RESPONSE'] as const;
const REQUEST = 1;
const RESPONSE = 2;

interface Stats {
  requestEnabled: Counter; responseEnabled: Counter;
  requestEnforced: Counter; responseEnforced: Counter;
  requestIncoming: Counter; responseIncoming: Counter;
  requestAllowed: Counter; responseAllowed: Counter;
}

interface BandwidthConfig {
  /** Bit 1: request, bit 2: response. */
  mode: number;
  kiBps: number;
  fillMs: number;
  /** Shared by every stream under this config; undefined when there is no limit. */
  bucket: SharedBucket | undefined;
  /** Trailer name prefix (with its dash) when delays are reported, else undefined. */
  trailerPrefix: string | undefined;
  stats: Stats;
}

function compile(c: Json, path: string, perRoute: boolean): BandwidthConfig {
  const prefix = str(c, 'statPrefix', path);
  if (!prefix) throw new ConfigError(at(path, 'statPrefix'), 'a stat prefix is required');
  const mode = MODES.indexOf(enumOf(c, 'enableMode', path, MODES, 'DISABLED'));
  const kiBps = num(c, 'limitKbps', path) ?? 0;
  if (perRoute && !kiBps) throw new ConfigError(at(path, 'limitKbps'), 'a per-route bandwidth limit needs limitKbps (at least 1)');
  if (num(c, 'limitKbps', path) !== undefined && kiBps < 1) throw new ConfigError(at(path, 'limitKbps'), 'must be at least 1');
  const fillMs = durationMs(c, 'fillInterval', path) ?? 50;
  if (fillMs < 20 || fillMs > 1000) throw new ConfigError(at(path, 'fillInterval'), 'must be between 20ms and 1s');
  // A runtime flag, without a runtime, is its default value.
  const re = obj(c, 'runtimeEnabled', path);
  const off = re !== undefined && field(re, 'defaultValue') === false;
  const tp = str(c, 'responseTrailerPrefix', path);
  const p = `${prefix}.http_bandwidth_limit.`;
  return {
    mode: off ? 0 : mode,
    kiBps,
    fillMs,
    bucket: kiBps ? new SharedBucket(kiBps) : undefined,
    trailerPrefix: bool(c, 'enableResponseTrailers', path) ? (tp ? `${tp}-` : '') : undefined,
    stats: {
      requestEnabled: counter(`${p}request_enabled`), responseEnabled: counter(`${p}response_enabled`),
      requestEnforced: counter(`${p}request_enforced`), responseEnforced: counter(`${p}response_enforced`),
      requestIncoming: counter(`${p}request_incoming_size`), responseIncoming: counter(`${p}response_incoming_size`),
      requestAllowed: counter(`${p}request_allowed_size`), responseAllowed: counter(`${p}response_allowed_size`),
    },
  };
}

interface State {
  config: BandwidthConfig;
  request?: Throttle;
  response?: Throttle;
  requestTrailers?: HeaderList;
  responseTrailers?: HeaderList;
  requestStart: number;
  requestMs: number;
  responseStart: number;
}

class BandwidthLimitFilter implements HttpFilter {
  constructor(readonly name: string, private readonly config: BandwidthConfig) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const c = (s.perFilterConfig(this.name)?.config as BandwidthConfig | undefined) ?? this.config;
    if (!c.mode || !c.bucket) return FilterStatus.Continue;
    const st: State = { config: c, requestStart: Date.now(), requestMs: 0, responseStart: 0 };
    (s.filterState ??= new Map()).set(this, st);
    s.addDataFilter(this);
    s.watchCompletion(this);
    if (c.mode & REQUEST) {
      c.stats.requestEnabled.value++;
      if (s.headersOnly) return FilterStatus.Continue;
      st.request = new Throttle(c.kiBps, c.fillMs, (chunk, end) => {
        c.stats.requestAllowed.value += chunk.length;
        if (end && !st.requestTrailers) st.requestMs = Date.now() - st.requestStart;
        s.injectDecodedData(this, chunk, end && !st.requestTrailers);
      }, () => {
        if (st.request!.enforced) c.stats.requestEnforced.value++;
        if (!st.requestTrailers) return;
        st.requestMs = Date.now() - st.requestStart;
        s.injectDecodedTrailers(this, st.requestTrailers);
      }, c.bucket);
    }
    return FilterStatus.Continue;
  }

  decodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st?.request) return chunk;
    st.config.stats.requestIncoming.value += chunk.length;
    st.request.write(chunk, end);
    return undefined;
  }

  decodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st?.request) return FilterStatus.Continue;
    st.requestTrailers = trailers;
    st.request.write(Buffer.alloc(0), true);
    return FilterStatus.Stop;
  }

  encodeHeaders(s: HttpStream): FilterStatus {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st || !(st.config.mode & RESPONSE)) return FilterStatus.Continue;
    const c = st.config;
    c.stats.responseEnabled.value++;
    st.responseStart = Date.now();
    // Reported delays go out as trailers: the end of the body waits for them.
    const report = c.trailerPrefix !== undefined;
    st.response = new Throttle(c.kiBps, c.fillMs, (chunk, end) => {
      c.stats.responseAllowed.value += chunk.length;
      s.injectEncodedData(this, chunk, end && !report && !st.responseTrailers);
    }, () => {
      if (st.response!.enforced) c.stats.responseEnforced.value++;
      const trailers = report ? this.delayTrailers(st) : undefined;
      if (trailers && st.responseTrailers) st.responseTrailers.push(...trailers);
      const out = st.responseTrailers ?? trailers;
      if (out) s.injectEncodedTrailers(this, out);
      else if (report) s.injectEncodedData(this, Buffer.alloc(0), true);
    }, c.bucket);
    return FilterStatus.Continue;
  }

  /** The delays trailers, when the filter delayed anything. */
  private delayTrailers(st: State): HeaderList | undefined {
    const reqFilter = Math.round(st.request?.delayMs ?? 0);
    const respFilter = Math.round(st.response?.delayMs ?? 0);
    if (!reqFilter && !respFilter) return undefined;
    const p = st.config.trailerPrefix!;
    const out: HeaderList = [];
    if (st.request) out.push(`${p}bandwidth-request-delay-ms`, String(st.requestMs), `${p}bandwidth-request-filter-delay-ms`, String(reqFilter));
    out.push(`${p}bandwidth-response-delay-ms`, String(Date.now() - st.responseStart), `${p}bandwidth-response-filter-delay-ms`, String(respFilter));
    return out;
  }

  encodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st?.response) return chunk;
    st.config.stats.responseIncoming.value += chunk.length;
    st.response.write(chunk, end);
    return undefined;
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const st = s.filterState?.get(this) as State | undefined;
    if (!st?.response) return FilterStatus.Continue;
    st.responseTrailers = trailers;
    st.response.write(Buffer.alloc(0), true);
    return FilterStatus.Stop;
  }

  onStreamComplete(s: HttpStream): void {
    const st = s.filterState?.get(this) as State | undefined;
    st?.request?.close();
    st?.response?.close();
  }
}

registerHttpFilter({
  configType: CONFIG_TYPE,
  create: (name, c, path) => new BandwidthLimitFilter(name, compile(c, path, false)),
  perRoute: { [CONFIG_TYPE]: (c, path) => compile(c, path, true) },
});
