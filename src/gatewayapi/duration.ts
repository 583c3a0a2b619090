// Durations as the IR spells them: Go's time.Duration string form ("5s", "1m30s", "1h0m0s",
// "500ms", "1.5s"), and the Gateway API / Envoy Gateway duration strings they come from.

const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** Parses "1h30m", "500ms", "10s"... into milliseconds; undefined when not a duration. */
export function parseDuration(s: unknown): number | undefined {
  if (typeof s !== 'string' || s === '') return undefined;
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/y;
  let total = 0;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]!]!;
    i = re.lastIndex;
  }
  return total;
}

/** Formats milliseconds the way Go formats a time.Duration. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let ns = Math.round(Math.abs(ms) * 1e6);
  let out: string;
  if (ns < 1e9) {
    // Below one second Go uses the largest unit that keeps an integer part: ms, µs or ns.
    if (ns >= 1e6) out = `${trimFraction(ns / 1e6)}ms`;
    else if (ns >= 1e3) out = `${trimFraction(ns / 1e3)}µs`;
    else out = `${ns}ns`;
  } else {
    const h = Math.floor(ns / 3.6e12);
    ns -= h * 3.6e12;
    const m = Math.floor(ns / 6e10);
    ns -= m * 6e10;
    const sec = `${trimFraction(ns / 1e9)}s`;
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}

function trimFraction(v: number): string {
  // Up to nanosecond precision, without trailing zeros.
  return Number(v.toFixed(9)).toString();
}
