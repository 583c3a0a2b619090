// Gateway API manifests → `egts translate --to xds` → `egts proxy -c`: the path a user takes.
// Listener ports in the translated dump are moved to free loopback ports (tests run side by
// side), and the mapping from Gateway listener port to bound port is returned.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../support/corpus.js';
import { startProxy, type Echo, type ProxyProc } from './support.js';
import { freePort } from '../support/ports.js';

export { freePort } from '../support/ports.js';

export function translate(manifests: string): { dump: any; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'egts-gw-'));
  const file = join(dir, 'manifests.yaml');
  writeFileSync(file, manifests);
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'translate', '-f', file, '--to', 'xds', '-o', 'json'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`egts translate failed (${r.status}): ${r.stderr}`);
  return { dump: JSON.parse(r.stdout), stderr: r.stderr };
}

export interface GatewayProxy extends ProxyProc {
  /** Bound port for a Gateway listener port. */
  port(gatewayPort: number): number;
}

/** Translates, remaps listener ports to free ones, and starts the proxy for the IR key (with extra `egts proxy` arguments). */
export async function startGateway(manifests: string, irKey = 'default/gw', proxyArgs: string[] = []): Promise<GatewayProxy> {
  const { dump } = translate(manifests);
  const cd = dump.xds?.[irKey];
  if (!cd) throw new Error(`no xDS for ${irKey}: ${Object.keys(dump.xds ?? {}).join(', ')}`);
  const mapping = new Map<number, number>();
  for (const c of cd.configs) {
    if (!String(c['@type']).endsWith('ListenersConfigDump')) continue;
    for (const l of c.dynamicListeners ?? []) {
      const sa = l.activeState?.listener?.address?.socketAddress;
      if (!sa) continue;
      const port = await freePort();
      mapping.set(sa.portValue, port);
      sa.portValue = port;
      sa.address = '127.0.0.1';
    }
  }
  const p = await startProxy({ xds: { [irKey]: cd } }, ['--service-cluster', irKey, ...proxyArgs]);
  return { ...p, port: (gp: number) => { const b = mapping.get(gp); if (b === undefined) throw new Error(`no listener for port ${gp}`); return b; } };
}

/** A Service and EndpointSlice pointing at an echo backend on loopback. */
export function backend(name: string, e: Echo | { http: number }, namespace = 'default', port = 8080): string {
  return `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  ports: [{name: http, port: ${port}, targetPort: ${e.http}, protocol: TCP}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, namespace: ${namespace}, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{name: http, port: ${e.http}, protocol: TCP}]
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
---
`;
}

export const gatewayClass = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: eg}
spec: {controllerName: gateway.envoyproxy.io/gatewayclass-controller}
---
`;
