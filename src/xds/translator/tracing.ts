// Tracing: the connection manager's tracing provider (OpenTelemetry, Zipkin, Datadog) with its
// sampling and custom tags, and the per-route sampling overrides.
import type { CustomTag, FractionalPercent } from '../../ir/xds.js';
import type { Msg } from './util.js';

const denominators: Record<number, string | undefined> = { 100: undefined, 10000: 'TEN_THOUSAND', 1000000: 'MILLION' };

/** An IR fraction (numerator over 100 by default) as an envoy.type.v3.FractionalPercent. */
export function fraction(f: FractionalPercent): Msg {
  const d = f.denominator ?? 100;
  if (d in denominators) {
    const out: Msg = { numerator: f.numerator };
    if (denominators[d]) out.denominator = denominators[d];
    return out;
  }
  return { numerator: Math.round((f.numerator * 1000000) / d), denominator: 'MILLION' };
}

/** A percentage (0-100, possibly fractional) as an envoy.type.v3.Percent. */
export function percent(p: number): Msg {
  return { value: p };
}

export function buildCustomTags(tags: CustomTag[] | undefined): Msg[] | undefined {
  if (!tags?.length) return undefined;
  return tags.map((t) => {
    const v = t.value;
    const out: Msg = { tag: t.key };
    switch (v.type) {
      case 'Literal':
        out.literal = { value: v.literal?.value ?? '' };
        break;
      case 'Environment':
        out.environment = { name: v.environment?.name ?? '', defaultValue: v.environment?.defaultValue };
        if (out.environment.defaultValue === undefined) delete out.environment.defaultValue;
        break;
      case 'RequestHeader':
        out.requestHeader = { name: v.requestHeader?.name ?? '', defaultValue: v.requestHeader?.defaultValue };
        if (out.requestHeader.defaultValue === undefined) delete out.requestHeader.defaultValue;
        break;
      default:
        break;
    }
    return out;
  });
}
