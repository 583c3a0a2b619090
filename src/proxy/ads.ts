// Connecting the proxy to an ADS server: the "wire" helper's ADS client delivers decoded
// resources; the proxy applies them (ACK) or refuses them with the problem (NACK).
import type { Proxy } from './proxy.js';

export interface AdsOptions {
  server: string;
  delta: boolean;
  node: { id: string; cluster: string };
}

export async function startAds(_proxy: Proxy, o: AdsOptions): Promise<void> {
  throw new Error(`the ADS client is not available in this build (cannot connect to ${o.server})`);
}
