// envoy.filters.network.connection_limit: at most max_connections connections at a time on the
// filter chain; the ones over the limit are closed, after `delay` when one is set (so that a
// client retrying in a loop is slowed down). Counted per process: with worker processes each
// worker applies the limit to its own connections.
import { ConfigError } from '../config/errors.js';
import { at, durationMs, num, str, type Json } from '../config/json.js';
import { registerNetworkFilter, type AcceptedConnection, type NetworkFilter } from '../listener/network_filter.js';
import { counter, gauge, type Counter, type Gauge } from '../stats.js';

const CONNECTION_LIMIT = 'envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit';

class ConnectionLimit implements NetworkFilter {
  readonly terminal = false;
  private readonly limited: Counter;
  private readonly active: Gauge;
  /** This filter's own count (stats of filters sharing a prefix add up; limits do not). */
  private open = 0;

  constructor(private readonly max: number, private readonly delayMs: number, prefix: string) {
    this.limited = counter(`connection_limit.${prefix}.limited_connections`);
    this.active = gauge(`connection_limit.${prefix}.active_connections`);
  }

  onAccept(c: AcceptedConnection): boolean | 'taken' {
    if (this.open >= this.max) {
      this.limited.value++;
      if (!this.delayMs) return false;
      // Kept open (nothing is done with it) until the delay passes, then closed.
      const s = c.socket;
      const t = setTimeout(() => s.destroy(), this.delayMs);
      s.once('close', () => clearTimeout(t));
      return 'taken';
    }
    this.open++;
    this.active.value++;
    c.socket.once('close', () => { this.open--; this.active.value--; });
    return true;
  }
}

registerNetworkFilter({
  configType: CONNECTION_LIMIT,
  create(config: Json, path: string) {
    const statPrefix = str(config, 'statPrefix', path);
    if (!statPrefix) throw new ConfigError(at(path, 'statPrefix'), 'required');
    const max = num(config, 'maxConnections', path);
    if (max === undefined || max < 1) throw new ConfigError(at(path, 'maxConnections'), 'required, at least 1');
    return new ConnectionLimit(max, durationMs(config, 'delay', path) ?? 0, statPrefix);
  },
});
