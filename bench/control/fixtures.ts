// Generated configurations for the control-plane benchmark, as Kubernetes YAML.
// - scale(n): Envoy Gateway's route scale test: one Gateway, n HTTPRoutes spread over 5
//   hostnames (www.benchmark-0.com … www.benchmark-4.com), each with its own path prefix and one
//   backendRef, all to the same Service (as the scale test's routes all go to its test server).
// - large(): a mixed configuration: 500 HTTPRoutes, 250 GRPCRoutes and 100 UDPRoutes on two
//   Gateways, with ClientTrafficPolicies, BackendTrafficPolicies and SecurityPolicies.

export const NS = 'benchmark-test';
const doc = (lines: string) => lines.trim();

export function gatewayClass(): string {
  return doc(`
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: eg
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller`);
}

export interface ServicePort { name: string; port: number; targetPort: number; protocol?: 'TCP' | 'UDP'; appProtocol?: string }

/** A Service with its EndpointSlice (the backend's address on this machine). */
export function service(name: string, ports: ServicePort[], address = '127.0.0.1'): string {
  const svcPorts = ports.map((p) => `  - name: ${p.name}
    port: ${p.port}
    protocol: ${p.protocol ?? 'TCP'}
    targetPort: ${p.targetPort}${p.appProtocol ? `\n    appProtocol: ${p.appProtocol}` : ''}`).join('\n');
  const slicePorts = ports.map((p) => `- name: ${p.name}
  port: ${p.targetPort}
  protocol: ${p.protocol ?? 'TCP'}${p.appProtocol ? `\n  appProtocol: ${p.appProtocol}` : ''}`).join('\n');
  return doc(`
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  ports:
${svcPorts}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-1
  namespace: ${NS}
  labels:
    kubernetes.io/service-name: ${name}
addressType: IPv4
ports:
${slicePorts}
endpoints:
- addresses: ["${address}"]
  conditions:
    ready: true`);
}

export function scaleGateway(port: number): string {
  return [gatewayClass(), doc(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: benchmark
  namespace: ${NS}
spec:
  gatewayClassName: eg
  listeners:
  - name: http
    protocol: HTTP
    port: ${port}`)].join('\n---\n');
}

export function scaleRoute(i: number, host = `www.benchmark-${i % 5}.com`, prefix = `/route-${i}`): string {
  return doc(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: benchmark-route-${i}
  namespace: ${NS}
spec:
  parentRefs:
  - name: benchmark
  hostnames:
  - ${host}
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: ${prefix}
    backendRefs:
    - name: benchmark-backend
      port: 8080`);
}

/** The whole scale fixture as files: name → text. */
export function scale(n: number, gatewayPort = 8080, backendPort = 3000): Record<string, string> {
  const routes: string[] = [];
  for (let i = 0; i < n; i++) routes.push(scaleRoute(i));
  return {
    'gateway.yaml': scaleGateway(gatewayPort),
    'backend.yaml': service('benchmark-backend', [{ name: 'http', port: 8080, targetPort: backendPort }]),
    'routes.yaml': routes.join('\n---\n'),
  };
}

const UDP_PER_GATEWAY = 50;

function mixedGateway(name: string, udpBase: number): string {
  const udp = Array.from({ length: UDP_PER_GATEWAY }, (_, i) => `  - name: udp-${i}
    protocol: UDP
    port: ${udpBase + i}`).join('\n');
  return doc(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  gatewayClassName: eg
  listeners:
  - name: http
    protocol: HTTP
    port: 80
  - name: https
    protocol: HTTP
    port: 8443
${udp}`);
}

function httpRoute(i: number): string {
  const gw = i % 2 ? 'mixed-b' : 'mixed-a';
  return doc(`
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: http-${i}
  namespace: ${NS}
spec:
  parentRefs:
  - name: ${gw}
    sectionName: http
  hostnames:
  - app-${i % 20}.example.com
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: /api/v${i}
      headers:
      - name: x-tenant
        value: t${i % 7}
    - path:
        type: Exact
        value: /exact/${i}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set:
        - name: x-route
          value: r${i}
        remove:
        - x-internal
    backendRefs:
    - name: svc-${i % 10}
      port: 8080
      weight: 3
    - name: svc-${(i + 1) % 10}
      port: 8080
      weight: 1
  - matches:
    - path:
        type: RegularExpression
        value: /re/${i}/[a-z]+
    timeouts:
      request: 10s
    backendRefs:
    - name: svc-${i % 10}
      port: 8080`);
}

function grpcRoute(i: number): string {
  return doc(`
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: grpc-${i}
  namespace: ${NS}
spec:
  parentRefs:
  - name: ${i % 2 ? 'mixed-b' : 'mixed-a'}
    sectionName: https
  hostnames:
  - grpc-${i % 10}.example.com
  rules:
  - matches:
    - method:
        service: bench.v${i}.Service
        method: Call
    - method:
        service: bench.v${i}.Other
    backendRefs:
    - name: svc-${i % 10}
      port: 9090`);
}

function udpRoute(i: number): string {
  return doc(`
apiVersion: gateway.networking.k8s.io/v1alpha2
kind: UDPRoute
metadata:
  name: udp-${i}
  namespace: ${NS}
spec:
  parentRefs:
  - name: ${i < UDP_PER_GATEWAY ? 'mixed-a' : 'mixed-b'}
    sectionName: udp-${i % UDP_PER_GATEWAY}
  rules:
  - backendRefs:
    - name: dns-${i % 5}
      port: 53`);
}

function policies(): string[] {
  const out: string[] = [];
  for (const gw of ['mixed-a', 'mixed-b']) {
    out.push(doc(`
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: ClientTrafficPolicy
metadata:
  name: ctp-${gw}
  namespace: ${NS}
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: ${gw}
  timeout:
    http:
      requestReceivedTimeout: 30s
      idleTimeout: 300s
  tcpKeepalive:
    probes: 3
    idleTime: 60s
    interval: 10s
  headers:
    xForwardedClientCert:
      mode: Sanitize
  connection:
    bufferLimit: 64Ki`));
    out.push(doc(`
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: btp-${gw}
  namespace: ${NS}
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: ${gw}
  timeout:
    tcp:
      connectTimeout: 5s
  circuitBreaker:
    maxConnections: 2048
    maxPendingRequests: 1024`));
  }
  for (let i = 0; i < 500; i += 5) {
    out.push(doc(`
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: btp-http-${i}
  namespace: ${NS}
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: http-${i}
  loadBalancer:
    type: ConsistentHash
    consistentHash:
      type: Header
      header:
        name: x-user
  retry:
    numRetries: 3
    retryOn:
      triggers: ["connect-failure", "retriable-status-codes"]
      httpStatusCodes: [503]
    perRetry:
      timeout: 2s
  healthCheck:
    passive:
      consecutive5XxErrors: 5
      interval: 10s
      baseEjectionTime: 30s`));
  }
  for (let i = 0; i < 500; i += 10) {
    out.push(doc(`
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: SecurityPolicy
metadata:
  name: sp-http-${i}
  namespace: ${NS}
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    name: http-${i}
  cors:
    allowOrigins:
    - https://app-${i}.example.com
    - https://*.trusted.example.com
    allowMethods: [GET, POST]
    allowHeaders: [x-custom]
    maxAge: 10m
  authorization:
    defaultAction: Deny
    rules:
    - action: Allow
      principal:
        clientCIDRs: [10.0.0.0/8, 192.168.${i % 256}.0/24]`));
  }
  for (let i = 0; i < 250; i += 25) {
    out.push(doc(`
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: btp-grpc-${i}
  namespace: ${NS}
spec:
  targetRefs:
  - group: gateway.networking.k8s.io
    kind: GRPCRoute
    name: grpc-${i}
  timeout:
    http:
      requestTimeout: 20s`));
  }
  return out;
}

/** The large mixed fixture as one file. */
export function large(): Record<string, string> {
  const docs: string[] = [gatewayClass(), mixedGateway('mixed-a', 20000), mixedGateway('mixed-b', 21000)];
  for (let i = 0; i < 10; i++) {
    docs.push(service(`svc-${i}`, [
      { name: 'http', port: 8080, targetPort: 3000 + i },
      { name: 'grpc', port: 9090, targetPort: 4000 + i, appProtocol: 'kubernetes.io/h2c' },
    ]));
  }
  for (let i = 0; i < 5; i++) docs.push(service(`dns-${i}`, [{ name: 'dns', port: 53, targetPort: 5353 + i, protocol: 'UDP' }]));
  for (let i = 0; i < 500; i++) docs.push(httpRoute(i));
  for (let i = 0; i < 250; i++) docs.push(grpcRoute(i));
  for (let i = 0; i < 100; i++) docs.push(udpRoute(i));
  docs.push(...policies());
  return { 'large.yaml': docs.join('\n---\n') };
}
