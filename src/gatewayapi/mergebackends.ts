// mergeBackends: routes that reference the same backend share one cluster (a BackendCluster in
// the IR) instead of one cluster per route rule.
import type { GatewayContext } from './contexts.js';
import { mergeBackendsConfig, type Translation } from './translation.js';

/** Whether a Gateway's proxy merges backends: its EnvoyProxy, else the class-wide setting. */
export function mergeBackendsEnabledFor(t: Translation, g: GatewayContext): boolean {
  return !!(g.envoyProxy?.spec?.mergeBackends ?? mergeBackendsConfig(t.resources));
}
