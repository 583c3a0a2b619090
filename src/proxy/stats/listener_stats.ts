// The statistics of one listener (`listener.<address>.*`, or `listener.<stat_prefix>.*`): the
// address as Envoy writes it in stat names, ':' turned into '_' (`0.0.0.0_10080`, `[__]_10080`),
// with the per-worker connection counts Envoy keeps under `listener.<address>.worker_<id>.*`.
import { counter, gauge, type Counter, type Gauge } from '../stats.js';

/** This process's worker id (worker processes set it; a single process is worker 0). */
export const worker = { id: 0 };

export function listenerStatName(address: string, port: number, pipe: string | undefined, statPrefix: string): string {
  if (statPrefix) return statPrefix;
  if (pipe) return pipe;
  const a = address.includes(':') ? `[${address}]` : address;
  return `${a}:${port}`.replace(/:/g, '_');
}

export class ListenerStats {
  readonly downstream_cx_total: Counter;
  readonly downstream_cx_destroy: Counter;
  readonly downstream_cx_active: Gauge;
  readonly no_filter_chain_match: Counter;
  readonly downstream_listener_filter_error: Counter;
  private readonly worker_cx_total: Counter;
  private readonly worker_cx_active: Gauge;

  constructor(name: string) {
    const p = `listener.${name}.`;
    this.downstream_cx_total = counter(`${p}downstream_cx_total`);
    this.downstream_cx_destroy = counter(`${p}downstream_cx_destroy`);
    this.downstream_cx_active = gauge(`${p}downstream_cx_active`);
    this.no_filter_chain_match = counter(`${p}no_filter_chain_match`);
    this.downstream_listener_filter_error = counter(`${p}downstream_listener_filter_error`);
    this.worker_cx_total = counter(`${p}worker_${worker.id}.downstream_cx_total`);
    this.worker_cx_active = gauge(`${p}worker_${worker.id}.downstream_cx_active`);
  }

  connected(): void {
    this.downstream_cx_total.value++;
    this.downstream_cx_active.value++;
    this.worker_cx_total.value++;
    this.worker_cx_active.value++;
  }

  closed(): void {
    this.downstream_cx_active.value--;
    this.downstream_cx_destroy.value++;
    this.worker_cx_active.value--;
  }
}
