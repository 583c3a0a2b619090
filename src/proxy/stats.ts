// Envoy-style statistics: named counters and gauges in one process-wide store, incremented on
// the hot path through direct object references (no lookups per request). The admin endpoint
// renders them (Prometheus text, Envoy's plain format).

import { StatOwners } from './stats/owners.js';

export interface Counter { value: number }
export interface Gauge { value: number }

const counters = new Map<string, Counter>();
const gauges = new Map<string, Gauge>();
// Keys are 'c' or 'g' followed by the stat's name.
const owners = new StatOwners((key) => (key[0] === 'c' ? counters : gauges).delete(key.slice(1)));
/** The keys the configuration being compiled has taken (see ownedStats). */
let collecting: Set<string> | undefined;

function use(key: string, created: boolean): void {
  if (collecting) {
    if (!collecting.has(key)) { collecting.add(key); owners.hold(key); }
  } else if (created) owners.pin(key);
}

export function counter(name: string): Counter {
  let c = counters.get(name);
  const created = !c;
  if (!c) counters.set(name, (c = { value: 0 }));
  use('c' + name, created);
  return c;
}

export function gauge(name: string): Gauge {
  let g = gauges.get(name);
  const created = !g;
  if (!g) gauges.set(name, (g = { value: 0 }));
  use('g' + name, created);
  return g;
}

/**
 * Compiles a configuration object whose stats it owns: every counter and gauge created or looked
 * up during `compile` stays while the returned object is reachable (stats/owners.ts). When
 * `compile` throws, what it took is given back at once.
 */
export function ownedStats<T extends object>(compile: () => T): T {
  const outer = collecting;
  const mine = (collecting = new Set());
  try {
    const owner = compile();
    owners.ownedBy(owner, [...mine]);
    return owner;
  } catch (err) {
    owners.release(mine);
    throw err;
  } finally {
    collecting = outer;
  }
}

export function allCounters(): ReadonlyMap<string, Counter> { return counters; }
export function allGauges(): ReadonlyMap<string, Gauge> { return gauges; }

/** The per-HCM statistics `http.<stat_prefix>.*`. */
export interface HttpStats {
  downstream_rq_total: Counter;
  downstream_rq_1xx: Counter;
  downstream_rq_2xx: Counter;
  downstream_rq_3xx: Counter;
  downstream_rq_4xx: Counter;
  downstream_rq_5xx: Counter;
  downstream_rq_active: Gauge;
  downstream_cx_total: Counter;
  downstream_cx_active: Gauge;
  downstream_cx_http1_total: Counter;
  downstream_cx_http2_total: Counter;
  downstream_rq_timeout: Counter;
  downstream_rq_idle_timeout: Counter;
  downstream_cx_protocol_error: Counter;
  rq_no_route: Counter;
  rq_redirect: Counter;
  rq_direct_response: Counter;
}

export function httpStats(prefix: string): HttpStats {
  const p = `http.${prefix}.`;
  return {
    downstream_rq_total: counter(`${p}downstream_rq_total`),
    downstream_rq_1xx: counter(`${p}downstream_rq_1xx`),
    downstream_rq_2xx: counter(`${p}downstream_rq_2xx`),
    downstream_rq_3xx: counter(`${p}downstream_rq_3xx`),
    downstream_rq_4xx: counter(`${p}downstream_rq_4xx`),
    downstream_rq_5xx: counter(`${p}downstream_rq_5xx`),
    downstream_rq_active: gauge(`${p}downstream_rq_active`),
    downstream_cx_total: counter(`${p}downstream_cx_total`),
    downstream_cx_active: gauge(`${p}downstream_cx_active`),
    downstream_cx_http1_total: counter(`${p}downstream_cx_http1_total`),
    downstream_cx_http2_total: counter(`${p}downstream_cx_http2_total`),
    downstream_rq_timeout: counter(`${p}downstream_rq_timeout`),
    downstream_rq_idle_timeout: counter(`${p}downstream_rq_idle_timeout`),
    downstream_cx_protocol_error: counter(`${p}downstream_cx_protocol_error`),
    rq_no_route: counter(`${p}no_route`),
    rq_redirect: counter(`${p}rq_redirect`),
    rq_direct_response: counter(`${p}rq_direct_response`),
  };
}
