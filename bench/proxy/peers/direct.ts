// No proxy: the load generator talks to the backend itself. The ceiling every proxy is measured
// against (the backend shares the load generator's CPU).
import type { Peer } from './types.js';

export const directPeer: Peer = {
  id: 'direct',
  label: 'direct (no proxy)',
  kind: 'limit',
  missing: () => undefined,
  start: async () => undefined,
};
