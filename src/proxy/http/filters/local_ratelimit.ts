// envoy.filters.http.local_ratelimit: token buckets kept by the proxy itself. The filter's own
// config (or, per route, the route's LocalRateLimit, which replaces it) has a default bucket and
// descriptor buckets; each request's descriptors come from the config's rate_limits actions
// (ratelimit/descriptors.ts). Matched descriptor buckets are consumed most restrictive first, then
// the default bucket (when nothing matched, or always_consume_default_token_bucket); the first
// empty bucket limits the request with a local reply (429 unless configured), unless its
// descriptor is in shadow mode or the enforcement roll says otherwise.
//
// Buckets are per proxy, shared by all its worker processes (the primary owns them, see
// ratelimit/token_bucket.ts), as Envoy shares them between its worker threads; with
// local_rate_limit_per_downstream_connection they are per connection instead.
import { createHash } from 'node:crypto';
import { ConfigError } from '../../config/errors.js';
import { at, bool, durationMs, enumOf, field, fraction, list, num, numOr, obj, str, type Json } from '../../config/json.js';
import { counter, type Counter } from '../../stats.js';
import { FilterStatus, type HttpFilter } from '../filter.js';
import { registerHttpFilter } from '../filter_registry.js';
import { compileHeaderMutation, type HeaderMutation } from '../header_mutation.js';
import type { HeaderList } from '../headers.js';
import type { HttpStream } from '../stream.js';
import { buildDescriptor, compileRateLimits, type Descriptor, type RateLimitPolicy } from './ratelimit/descriptors.js';
import { setRateLimitHeaders } from './ratelimit/headers.js';
import { consume, localBuckets, type BucketSpec, type BucketState, type Consume } from './ratelimit/token_bucket.js';

const CONFIG_TYPE = 'envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

interface LocalDescriptor {
  /** Entries as configured; an empty value matches any value (one bucket per value seen). */
  entries: { key: string; value: string }[];
  spec: BucketSpec;
  shadow: boolean;
  dynamic: boolean;
  /** Tokens per second, to try the most restrictive bucket first. */
  fillRate: number;
}

interface LocalConfig {
  status: number;
  defaultBucket: BucketSpec | undefined;
  descriptors: LocalDescriptor[];
  /** Static descriptors by their entries ("k=v\0k=v"). */
  byEntries: Map<string, number>;
  enabled: number;
  enforced: number;
  headersWhenNotEnforced: HeaderMutation | undefined;
  responseHeaders: HeaderMutation | undefined;
  xRateLimitHeaders: boolean;
  policies: RateLimitPolicy[];
  alwaysConsumeDefault: boolean;
  maxDynamic: number;
  perConnection: boolean;
  resourceExhausted: boolean;
  stats: { enabled: Counter; enforced: Counter; rateLimited: Counter; ok: Counter };
  /** A digest of the config: buckets belong to one config (a changed config starts afresh). */
  digest: string;
}

function bucketSpec(c: Json | undefined, path: string): BucketSpec | undefined {
  if (!c) return undefined;
  const fill = durationMs(c, 'fillInterval', path);
  if (fill === undefined || fill <= 0) throw new ConfigError(at(path, 'fillInterval'), 'a positive fill interval is required');
  return { maxTokens: numOr(c, 'maxTokens', path, 0), tokensPerFill: numOr(c, 'tokensPerFill', path, 1), fillIntervalMs: fill };
}

function entriesKey(entries: { key: string; value: string }[]): string {
  let k = '';
  for (const e of entries) k += `${e.key}=${e.value}\0`;
  return k;
}

function compileConfig(c: Json, path: string): LocalConfig {
  const statPrefix = str(c, 'statPrefix', path);
  if (!statPrefix) throw new ConfigError(at(path, 'statPrefix'), 'required');
  for (const unsupported of ['localClusterRateLimit']) {
    if (field(c, unsupported) !== undefined) throw new ConfigError(at(path, unsupported), 'not supported by this proxy');
  }
  const vh = str(c, 'vhRateLimits', path, 'OVERRIDE');
  if (vh !== 'OVERRIDE' && vh !== 'INCLUDE' && vh !== 'IGNORE') throw new ConfigError(at(path, 'vhRateLimits'), `unknown value ${vh}`);
  const descriptors: LocalDescriptor[] = [];
  const byEntries = new Map<string, number>();
  list(c, 'descriptors', path).forEach((d: Json, i: number) => {
    const dp = at(at(path, 'descriptors'), i);
    const entries = list(d, 'entries', dp).map((e: Json, j: number) => {
      const ep = at(at(dp, 'entries'), j);
      const key = str(e, 'key', ep);
      if (!key) throw new ConfigError(at(ep, 'key'), 'required');
      return { key, value: str(e, 'value', ep) };
    });
    if (!entries.length) throw new ConfigError(at(dp, 'entries'), 'at least one entry is required');
    const spec = bucketSpec(obj(d, 'tokenBucket', dp), at(dp, 'tokenBucket'));
    if (!spec) throw new ConfigError(at(dp, 'tokenBucket'), 'required');
    const dynamic = entries.some((e) => e.value === '');
    const key = entriesKey(entries);
    if (byEntries.has(key) || descriptors.some((x) => entriesKey(x.entries) === key)) throw new ConfigError(dp, 'duplicate descriptor');
    if (!dynamic) byEntries.set(key, descriptors.length);
    descriptors.push({ entries, spec, shadow: bool(d, 'shadowMode', dp), dynamic, fillRate: spec.tokensPerFill / spec.fillIntervalMs });
  });
  const prefix = `${statPrefix}.http_local_rate_limit.`;
  const status = obj(c, 'status', path);
  const xh = enumOf(c, 'enableXRatelimitHeaders', path, ['OFF', 'DRAFT_VERSION_03'] as const, 'OFF');
  return {
    status: status ? numOr(status, 'code', at(path, 'status'), 429) : 429,
    defaultBucket: bucketSpec(obj(c, 'tokenBucket', path), at(path, 'tokenBucket')),
    descriptors,
    byEntries,
    // Both default to 0%: a config without them limits nothing.
    enabled: obj(c, 'filterEnabled', path) ? fraction(obj(c, 'filterEnabled', path), at(path, 'filterEnabled')) : 0,
    enforced: obj(c, 'filterEnforced', path) ? fraction(obj(c, 'filterEnforced', path), at(path, 'filterEnforced')) : 0,
    headersWhenNotEnforced: compileHeaderMutation(c, 'requestHeadersToAddWhenNotEnforced', '-', path),
    responseHeaders: compileHeaderMutation(c, 'responseHeadersToAdd', '-', path),
    xRateLimitHeaders: xh === 'DRAFT_VERSION_03',
    policies: compileRateLimits(list(c, 'rateLimits', path), at(path, 'rateLimits')),
    alwaysConsumeDefault: bool(c, 'alwaysConsumeDefaultTokenBucket', path, true),
    maxDynamic: numOr(c, 'maxDynamicDescriptors', path, 20),
    perConnection: bool(c, 'localRateLimitPerDownstreamConnection', path),
    resourceExhausted: bool(c, 'rateLimitedAsResourceExhausted', path),
    stats: { enabled: counter(`${prefix}enabled`), enforced: counter(`${prefix}enforced`), rateLimited: counter(`${prefix}rate_limited`), ok: counter(`${prefix}ok`) },
    digest: createHash('sha256').update(JSON.stringify(c)).digest('base64url').slice(0, 12),
  };
  void num;
}

/** A request's descriptor matched to a configured one, with the bucket key it counts in. */
interface Matched { d: LocalDescriptor; index: number; bucketKey: string; hits: number }

/** Per-stream state: the bucket whose state goes into x-ratelimit-* headers; what to charge at the end. */
interface State { bucket?: BucketState; charge?: { cfg: LocalConfig; base: string } }

class LocalRateLimitFilter implements HttpFilter {
  constructor(readonly name: string, private readonly config: LocalConfig) {}

  private configFor(s: HttpStream): { cfg: LocalConfig; scope: string } {
    const r = s.route!;
    const own = r.perFilter?.get(this.name)?.config as LocalConfig | undefined;
    if (own) return { cfg: own, scope: `${r.virtualHost.table.name}/${r.virtualHost.name}/${r.name}` };
    const vh = r.virtualHost.perFilter?.get(this.name)?.config as LocalConfig | undefined;
    if (vh) return { cfg: vh, scope: `${r.virtualHost.table.name}/${r.virtualHost.name}` };
    const t = r.virtualHost.table.perFilter?.get(this.name)?.config as LocalConfig | undefined;
    if (t) return { cfg: t, scope: r.virtualHost.table.name };
    return { cfg: this.config, scope: '' };
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    if (!s.route) return FilterStatus.Continue;
    const { cfg, scope } = this.configFor(s);
    if (!cfg.defaultBucket && !cfg.descriptors.length) return FilterStatus.Continue;
    if (cfg.enabled < 1 && Math.random() >= cfg.enabled) return FilterStatus.Continue;
    cfg.stats.enabled.value++;
    const base = `${this.name}@${scope}#${cfg.digest}`;
    const matched: Matched[] = [];
    let hits = 1;
    let onDone: Descriptor[] | undefined;
    for (const p of cfg.policies) {
      const d = buildDescriptor(p, s);
      if (!d) continue;
      if (p.applyOnStreamDone) { (onDone ??= []).push(d); continue; }
      const m = match(cfg, d, base);
      if (m) matched.push(m);
      if (d.hitsAddend !== undefined) hits = d.hitsAddend;
    }
    if (onDone) this.chargeAtStreamEnd(s, cfg, base);
    if (matched.length > 1) matched.sort((a, b) => a.d.fillRate - b.d.fillRate);
    const list: Consume[] = matched.map((m) => ({ key: m.bucketKey, spec: m.d.spec, hits: m.hits, dynamicGroup: m.d.dynamic ? `${base}:${m.index}` : undefined, maxDynamic: cfg.maxDynamic }));
    const withDefault = cfg.defaultBucket !== undefined && (!matched.length || cfg.alwaysConsumeDefault);
    if (withDefault) list.push({ key: `${base}:default`, spec: cfg.defaultBucket!, hits });
    if (!list.length) return FilterStatus.Continue;
    const states = cfg.perConnection ? localBuckets(s.ctx, list) : consume(list);
    if (Array.isArray(states)) return this.decide(s, cfg, matched, states) ? FilterStatus.Continue : FilterStatus.Stop;
    states.then((st) => { if (!s.done && this.decide(s, cfg, matched, st)) s.continueDecoding(); }, () => { if (!s.done) s.continueDecoding(); });
    return FilterStatus.Stop;
  }

  /** Applies the outcome; returns whether the request goes on. */
  private decide(s: HttpStream, cfg: LocalConfig, matched: Matched[], states: BucketState[]): boolean {
    const last = states[states.length - 1]!;
    const limited = !last.allowed;
    // The bucket the headers describe: the one that refused, else the most restrictive matched one.
    const shown = limited ? last : states[0];
    if (cfg.xRateLimitHeaders) this.state(s).bucket = shown;
    if (!limited) { cfg.stats.ok.value++; return true; }
    const by = states.length - 1 < matched.length ? matched[states.length - 1]!.d : undefined;
    cfg.stats.rateLimited.value++;
    if (by?.shadow) return true;
    if (cfg.enforced < 1 && Math.random() >= cfg.enforced) {
      cfg.headersWhenNotEnforced?.apply(s.headers, s);
      return true;
    }
    cfg.stats.enforced.value++;
    const headers: HeaderList = [];
    cfg.responseHeaders?.apply(headers, s);
    if (cfg.resourceExhausted && (s.headers.includes('content-type') && /^application\/grpc/.test(s.headers[s.headers.indexOf('content-type') + 1] ?? ''))) {
      headers.push('content-type', 'application/grpc', 'grpc-status', '8', 'grpc-message', 'local_rate_limited');
      s.sendLocalReply(200, '', 'local_rate_limited', headers);
    } else s.sendLocalReply(cfg.status, 'local_rate_limited', 'local_rate_limited', headers);
    return false;
  }

  /** Descriptors that count when the stream is over (response costs): charged then, never enforced. */
  private chargeAtStreamEnd(s: HttpStream, cfg: LocalConfig, base: string): void {
    this.state(s).charge = { cfg, base };
    s.watchCompletion(this);
  }

  private state(s: HttpStream): State {
    const fs = (s.filterState ??= new Map());
    let st = fs.get(this) as State | undefined;
    if (!st) fs.set(this, (st = {}));
    return st;
  }

  onStreamComplete(s: HttpStream): void {
    const c = (s.filterState?.get(this) as State | undefined)?.charge;
    if (!c) return;
    const list: Consume[] = [];
    for (const p of c.cfg.policies) {
      if (!p.applyOnStreamDone) continue;
      const d = buildDescriptor(p, s, true);
      const m = d && match(c.cfg, d, c.base);
      if (m && m.hits > 0) list.push({ key: m.bucketKey, spec: m.d.spec, hits: m.hits, dynamicGroup: m.d.dynamic ? `${c.base}:${m.index}` : undefined, maxDynamic: c.cfg.maxDynamic });
    }
    // Each charge on its own: one empty bucket does not spare the others.
    for (const one of list) { const r = c.cfg.perConnection ? localBuckets(s.ctx, [one]) : consume([one]); if (!Array.isArray(r)) r.catch(() => undefined); }
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): void {
    const st = s.filterState?.get(this) as State | undefined;
    if (st?.bucket) setRateLimitHeaders(headers, st.bucket.limit, st.bucket.remaining, st.bucket.resetSeconds);
  }
}

function match(cfg: LocalConfig, d: Descriptor, base: string): Matched | undefined {
  const hits = d.hitsAddend ?? 1;
  const key = entriesKey(d.entries);
  const i = cfg.byEntries.get(key);
  if (i !== undefined) return { d: cfg.descriptors[i]!, index: i, bucketKey: `${base}:${i}`, hits };
  // Dynamic descriptors: configured entries with an empty value take any value, one bucket per value.
  for (let j = 0; j < cfg.descriptors.length; j++) {
    const c = cfg.descriptors[j]!;
    if (!c.dynamic || c.entries.length !== d.entries.length) continue;
    let ok = true;
    for (let k = 0; k < c.entries.length && ok; k++) {
      const ce = c.entries[k]!;
      const de = d.entries[k]!;
      ok = ce.key === de.key && (ce.value === '' || ce.value === de.value);
    }
    if (ok) return { d: c, index: j, bucketKey: `${base}:${j}:${key}`, hits };
  }
  return undefined;
}

registerHttpFilter({
  configType: CONFIG_TYPE,
  create: (name, c, path) => new LocalRateLimitFilter(name, compileConfig(c, path)),
  perRoute: { [CONFIG_TYPE]: compileConfig },
});
