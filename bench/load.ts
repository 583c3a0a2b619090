// Loading and validating many resources: a multi-document file of N HTTPRoutes (default
// 10,000), parsed, placed and admitted. Prints the time of each stage and the total.
//   node dist/bench/load.js [N]
import { performance } from 'node:perf_hooks';
import { validateObject } from '../src/api/validate.js';
import { loadKubernetesYAML } from '../src/resources/load.js';

export function httpRoutesYAML(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-${i}
  namespace: default
spec:
  parentRefs:
  - name: gateway-1
    sectionName: http
  hostnames:
  - "www-${i}.example.com"
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /foo/${i}
      headers:
      - name: x-version
        value: v${i}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: x-route
          value: r${i}
    backendRefs:
    - name: service-${i % 50}
      port: 8080
      weight: 1
`);
  }
  return docs.join('---\n');
}

function main(): void {
  const n = Number(process.argv[2] ?? 10_000);
  const text = httpRoutesYAML(n);
  // CPU time as well as wall time: on a shared machine the wall clock measures the neighbours.
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const t0 = performance.now();
  const c0 = cpu();
  const loaded = loadKubernetesYAML(text, 'routes.yaml');
  const t1 = performance.now();
  const c1 = cpu();
  let rejected = 0;
  for (const o of loaded.objects) if (!validateObject(o.object, o.place, o.locate).ok) rejected++;
  const t2 = performance.now();
  const c2 = cpu();
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  console.log(
    `${n} HTTPRoutes (${(text.length / 1e6).toFixed(1)} MB), wall/cpu: load ${ms(t1 - t0)}/${ms(c1 - c0)}, validate ${ms(t2 - t1)}/${ms(c2 - c1)}, total ${ms(t2 - t0)}/${ms(c2 - c0)}; ${loaded.objects.length} loaded, ${rejected} rejected`,
  );
}

if (process.argv[1]?.endsWith('load.js')) main();
