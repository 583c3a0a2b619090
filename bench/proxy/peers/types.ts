// A proxy under comparison: how to check it can run here, and how to start it for a scenario,
// pinned to the proxy CPU with one worker and keep-alive on both legs.
import type { Proc } from '../../common/proc.js';
import type { Scenario } from '../scenarios.js';

export interface PeerContext {
  scenario: Scenario;
  /** Where the peer listens (127.0.0.1). */
  port: number;
  backendPort: number;
  /** A fresh folder for the peer's configuration files. */
  dir: string;
  /** The server certificate for HTTPS scenarios. */
  tls: { certFile: string; keyFile: string; cert: string; key: string };
  cpu: string;
}

export interface Peer {
  id: string;
  label: string;
  /** `limit`: no proxy at all; `native`: C proxies; `node`: Node.js proxies; `egts`: us. */
  kind: 'limit' | 'native' | 'node' | 'egts';
  /** Why it cannot run on this machine, if it cannot. */
  missing(): string | undefined;
  /** Why it cannot be configured for a scenario, if it cannot. */
  unsupported?(s: Scenario): string | undefined;
  /** Starts the peer; resolves once it accepts connections. `direct` has no process. */
  start(ctx: PeerContext): Promise<Proc | undefined>;
}
