// Statistics as Envoy's admin endpoint prints them: `/stats` (`name: value`, sorted, or JSON) and
// `/stats/prometheus`, where Envoy's default tag extractors turn parts of a flat name into labels
// (`cluster.<name>.upstream_rq_2xx` → `envoy_cluster_upstream_rq_xx{envoy_response_code_class="2",
// envoy_cluster_name="<name>"}`) and the rest becomes the metric name.
import type { StatsSnapshot } from './snapshot.js';

export interface RenderOptions {
  /** Only stats whose name matches (Envoy's `filter` query parameter). */
  filter?: RegExp;
  /** Only stats that are not zero (Envoy's `usedonly`). */
  usedOnly?: boolean;
}

function keep(name: string, value: number, o: RenderOptions): boolean {
  if (o.usedOnly && value === 0) return false;
  return !o.filter || o.filter.test(name);
}

export function renderText(s: StatsSnapshot, o: RenderOptions = {}): string {
  const all: [string, number][] = [...Object.entries(s.counters), ...Object.entries(s.gauges)];
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let out = '';
  for (const [n, v] of all) if (keep(n, v, o)) out += `${n}: ${v}\n`;
  return out;
}

export function renderJson(s: StatsSnapshot, o: RenderOptions = {}): string {
  const all: [string, number][] = [...Object.entries(s.counters), ...Object.entries(s.gauges)];
  all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify({ stats: all.filter(([n, v]) => keep(n, v, o)).map(([name, value]) => ({ name, value })) });
}

type Tags = [string, string][];

const ADDRESS = String.raw`(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}_\d+|\[[_a-fA-F0-9]+\]_\d+)`;
const TAG_VALUE = String.raw`[^.]+`;

/**
 * Envoy's default tag extraction, for the stat families this proxy has: each extractor takes its
 * value out of the name (with its separator) and adds a tag, in Envoy's order.
 */
const EXTRACTORS: { tag: string; re: RegExp }[] = [
  // *_rq_<code>: the code goes, `_rq` stays.
  { tag: 'envoy_response_code', re: /_rq(_(\d{3}))$/ },
  // *_rq_<class>xx: the class digit goes, `_rq_xx` stays.
  { tag: 'envoy_response_code_class', re: /_rq_((\d))xx$/ },
  { tag: 'envoy_tcp_prefix', re: new RegExp(`^tcp\\.((${TAG_VALUE})\\.)`) },
  { tag: 'envoy_udp_prefix', re: new RegExp(`^udp\\.((${TAG_VALUE})\\.)`) },
  { tag: 'envoy_cluster_name', re: new RegExp(`^cluster\\.((${TAG_VALUE})\\.)`) },
  { tag: 'envoy_http_conn_manager_prefix', re: new RegExp(`^listener\\..*?\\.http\\.((${TAG_VALUE})\\.)`) },
  { tag: 'envoy_http_conn_manager_prefix', re: new RegExp(`^http\\.((${TAG_VALUE})\\.)`) },
  { tag: 'envoy_worker_id', re: new RegExp(`^listener\\.(?:${ADDRESS}|${TAG_VALUE})\\.worker_((\\d+)\\.)`) },
  { tag: 'envoy_listener_address', re: new RegExp(`^listener\\.((${ADDRESS}|${TAG_VALUE})\\.)`) },
];

export function extractTags(name: string): { metric: string; tags: Tags } {
  const tags: Tags = [];
  let n = name;
  for (const { tag, re } of EXTRACTORS) {
    const m = re.exec(n);
    if (!m || m[1] === undefined) continue;
    if (tag === 'envoy_listener_address' && m[2] === 'admin') continue;
    if (tags.some(([t]) => t === tag)) continue;
    tags.push([tag, m[2]!]);
    const start = m.index + m[0].indexOf(m[1]);
    n = n.slice(0, start) + n.slice(start + m[1].length);
  }
  return { metric: `envoy_${n.replace(/[^a-zA-Z0-9_]/g, '_')}`, tags };
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function family(entries: [string, number][], type: 'counter' | 'gauge', o: RenderOptions): string {
  const byMetric = new Map<string, { labels: string; value: number }[]>();
  for (const [name, value] of entries) {
    if (!keep(name, value, o)) continue;
    const { metric, tags } = extractTags(name);
    const labels = tags.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',');
    let list = byMetric.get(metric);
    if (!list) byMetric.set(metric, (list = []));
    list.push({ labels, value });
  }
  let out = '';
  for (const metric of [...byMetric.keys()].sort()) {
    out += `# TYPE ${metric} ${type}\n`;
    const series = byMetric.get(metric)!.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
    for (const s of series) out += s.labels ? `${metric}{${s.labels}} ${s.value}\n` : `${metric} ${s.value}\n`;
  }
  return out;
}

export function renderPrometheus(s: StatsSnapshot, o: RenderOptions = {}): string {
  return family(Object.entries(s.counters), 'counter', o) + family(Object.entries(s.gauges), 'gauge', o);
}
