// Shapes shared across the IR. The IR's JSON form is Envoy Gateway's IR exactly (field names,
// enum spellings, Go duration strings), so that both translators can be checked against the
// reference corpus. Optional fields are absent rather than null/zero where Envoy Gateway omits them.

/** A Go duration as Envoy Gateway serialises it: "10s", "1h0m0s", "500ms", "5.4s". */
export type Duration = string;

/** A Go []byte: base64 in the IR's JSON form. */
export type Bytes = string;

/**
 * A secret (Go []byte, base64): the IR holds the real value, for the xDS translator; displays of
 * the IR show it as "[redacted]" (redact.ts lists every field of this type).
 */
export type PrivateBytes = Bytes;

/** Where an IR element came from (a Gateway, a route, a policy, a Service...). */
export interface ResourceMetadata {
  kind?: string;
  name?: string;
  namespace?: string;
  /** Listener name, rule name, or port number of the origin, depending on the kind. */
  sectionName?: string;
  annotations?: MapEntry[];
  /** The policies that were applied to this element (kind/name/namespace). */
  policies?: PolicyRef[];
}

export interface PolicyRef {
  kind: string;
  name: string;
  namespace?: string;
}

export interface MapEntry {
  key: string;
  value: string;
}

/**
 * A string matcher. Exactly one of exact/prefix/suffix/safeRegex is set. `name` is the header,
 * query parameter or cookie the match applies to (empty for path and plain string matches).
 */
export interface StringMatch {
  name?: string;
  exact?: string;
  prefix?: string;
  suffix?: string;
  safeRegex?: string;
  /** Matches when the value contains the string (header/SAN matchers). */
  contains?: string;
  /** Rate limit matching: true when each distinct value gets its own bucket. */
  distinct?: boolean;
  /** Rate limit matching: the match is inverted. */
  invert?: boolean;
}

export interface CIDRMatch {
  cidr: string;
  ip?: string;
  maskLen: number;
  isIPv6: boolean;
  /** Rate limit: one bucket per client address within the range. */
  distinct: boolean;
  invert?: boolean;
}

/** A header to add or set. `append: false` overwrites; `addIfAbsent` only adds when missing. */
export interface AddHeader {
  name: string;
  value?: string[] | null;
  append: boolean;
  addIfAbsent?: boolean;
}

export interface FractionalPercent {
  numerator: number;
  denominator?: number;
}

export type IPFamily = 'IPv4' | 'IPv6' | 'DualStack';

/** A header name/value pair (OpenTelemetry exporter headers, tracing headers). */
export interface NamedValue {
  name: string;
  value: string;
}

/** A reference to a Gateway API or Envoy Gateway object, as in policy statuses and ancestors. */
export interface ObjectReference {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  sectionName?: string;
  port?: number;
}
