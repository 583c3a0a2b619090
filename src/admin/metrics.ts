// The control plane's Prometheus metrics (prom-client, the standard Node.js client): what the
// provider read, how translations went and took, the xDS connections with their ACKs and NACKs,
// and the proxy processes. Each control plane has its own registry (tests run several).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly reloads = new Counter({ name: 'egts_provider_reloads_total', help: 'Resource sets published by the file provider', registers: [this.registry] });
  readonly problems = new Gauge({ name: 'egts_provider_problems', help: 'Problems in the watched files (parse and validation errors)', registers: [this.registry] });
  readonly resources = new Gauge({ name: 'egts_resources', help: 'Resources in force, by kind', labelNames: ['kind'], registers: [this.registry] });
  readonly translations = new Counter({ name: 'egts_translations_total', help: 'Translations run, by stage and result', labelNames: ['stage', 'result'], registers: [this.registry] });
  readonly translationSeconds = new Histogram({
    name: 'egts_translation_duration_seconds',
    help: 'Time taken by one translation, by stage',
    labelNames: ['stage'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly snapshots = new Counter({ name: 'egts_xds_snapshots_total', help: 'xDS snapshots published, by IR key', labelNames: ['ir_key'], registers: [this.registry] });
  readonly connections = new Gauge({ name: 'egts_xds_connections', help: 'Proxies connected to the xDS server', registers: [this.registry] });
  readonly acks = new Counter({ name: 'egts_xds_acks_total', help: 'ACKs received from proxies, by type', labelNames: ['type'], registers: [this.registry] });
  readonly nacks = new Counter({ name: 'egts_xds_nacks_total', help: 'NACKs received from proxies, by type', labelNames: ['type'], registers: [this.registry] });
  readonly proxies = new Gauge({ name: 'egts_proxy_processes', help: 'Proxy processes managed on this host', registers: [this.registry] });
  readonly restarts = new Counter({ name: 'egts_proxy_restarts_total', help: 'Proxy processes restarted after exiting on their own, by IR key', labelNames: ['ir_key'], registers: [this.registry] });

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'egts_' });
  }
}
