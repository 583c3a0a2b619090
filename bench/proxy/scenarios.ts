// The proxy benchmark's scenarios and the routing table every peer is configured with. Each route
// forwards to its own upstream (an Envoy cluster, an nginx upstream block, a HAProxy backend)
// that all point at the one nginx backend, as 1000 HTTPRoutes with a backend each would.

export interface Scenario {
  id: string;
  title: string;
  /** Virtual hosts: 1 means a single catch-all (`*`); more are h0..h(n-1).example.com. */
  vhosts: number;
  /** Routes in each virtual host: 1 means `/`; more are path prefixes /r0/ .. /r(n-1)/. */
  routes: number;
  tls: boolean;
  connections: number;
}

export interface Route { prefix: string; upstream: string }
export interface VirtualHost { name: string; domain: string; routes: Route[] }

/** Where the requests go: the last route of the last virtual host, the worst case for a linear matcher. */
export function target(s: Scenario): { host: string; path: string } {
  return {
    host: s.vhosts > 1 ? `h${s.vhosts - 1}.example.com` : 'bench.example.com',
    path: s.routes > 1 ? `/r${s.routes - 1}/item` : '/item',
  };
}

export function routingTable(s: Scenario): VirtualHost[] {
  const hosts: VirtualHost[] = [];
  let n = 0;
  for (let h = 0; h < s.vhosts; h++) {
    const routes: Route[] = [];
    for (let r = 0; r < s.routes; r++) routes.push({ prefix: s.routes > 1 ? `/r${r}/` : '/', upstream: `u${n++}` });
    hosts.push({ name: `vh${h}`, domain: s.vhosts > 1 ? `h${h}.example.com` : '*', routes });
  }
  return hosts;
}

export const SCENARIOS: Scenario[] = [
  { id: '1-route-c10', title: '1 route, 10 connections', vhosts: 1, routes: 1, tls: false, connections: 10 },
  { id: '1-route-c64', title: '1 route, 64 connections', vhosts: 1, routes: 1, tls: false, connections: 64 },
  { id: '1-route-c256', title: '1 route, 256 connections', vhosts: 1, routes: 1, tls: false, connections: 256 },
  { id: '1000-routes-c64', title: '1000 routes (last matches), 64 connections', vhosts: 1, routes: 1000, tls: false, connections: 64 },
  { id: '1000-vhosts-c64', title: '1000 virtual hosts (last matches), 64 connections', vhosts: 1000, routes: 1, tls: false, connections: 64 },
  { id: 'https-c64', title: 'HTTPS termination, 1 route, 64 connections', vhosts: 1, routes: 1, tls: true, connections: 64 },
];

/** The fixed-rate latency run: 1 route, 64 connections paced to this many requests/s in total. */
export const FIXED_RATE = 5000;
