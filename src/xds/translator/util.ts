// Small helpers shared by the translator modules: Go durations to protobuf durations, typed
// configs (google.protobuf.Any in the proto3 JSON mapping), and the ADS config source.

/** A message in the proto3 JSON mapping. */
export type Msg = Record<string, any>;

const unitNanos: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Parses a Go duration ("1h0m0s", "500ms", "5.4s", "0s") into nanoseconds. Returns undefined for
 * a string that is not a duration. Plain numbers of seconds ("30") are accepted too.
 */
export function parseGoDuration(d: string | undefined | null): number | undefined {
  if (d === undefined || d === null || d === '') return undefined;
  if (/^[0-9]+(\.[0-9]+)?$/.test(d)) return Number(d) * 1e9;
  let s = d;
  let sign = 1;
  if (s[0] === '-' || s[0] === '+') {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  let total = 0;
  const re = /([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    total += Number(m[1]) * unitNanos[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed !== s.length || consumed === 0) return undefined;
  return sign * Math.round(total);
}

/** Nanoseconds as a protobuf Duration in JSON: "5s", "0.500s", "5.005s" (3, 6 or 9 digits). */
export function nanosToProto(ns: number): string {
  const neg = ns < 0;
  let n = Math.abs(ns);
  const seconds = Math.floor(n / 1e9);
  n = n - seconds * 1e9;
  let frac = '';
  if (n > 0) {
    const digits = String(Math.round(n)).padStart(9, '0');
    frac = '.' + (digits.endsWith('000000') ? digits.slice(0, 3) : digits.endsWith('000') ? digits.slice(0, 6) : digits);
  }
  return `${neg ? '-' : ''}${seconds}${frac}s`;
}

/** A Go duration as a protobuf Duration, or undefined when absent or unparseable. */
export function protoDuration(d: string | undefined | null): string | undefined {
  const ns = parseGoDuration(d);
  return ns === undefined ? undefined : nanosToProto(ns);
}

/** A typed config: the message with its "@type". */
export function typed(type: string, msg: Msg = {}): Msg {
  return { '@type': `type.googleapis.com/${type}`, ...msg };
}

/** The config source every xDS reference uses: ADS, v3, no initial fetch timeout. */
export function adsConfigSource(): Msg {
  return { ads: {}, initialFetchTimeout: '0s', resourceApiVersion: 'V3' };
}

/** Removes keys whose value is undefined (for building messages with optional parts). */
export function compact<T extends Msg>(m: T): T {
  for (const k of Object.keys(m)) if (m[k] === undefined) delete m[k];
  return m;
}

/** Percent (0-100, fractional allowed) as an envoy.type.v3.FractionalPercent. */
export function fractionalPercent(percent: number): Msg {
  // Envoy Gateway scales to millionths so that fractions survive.
  if (Number.isInteger(percent)) return { numerator: percent };
  return { numerator: Math.round(percent * 10000), denominator: 'MILLION' };
}

/** "a.b.c" → "a_b_c": dots are stat-tag separators in Envoy. */
export function underscored(s: string): string {
  return s.replaceAll('.', '_');
}
