// The gatewayapi golden suite: one case is a keyed-list bundle of resources; it is completed with
// the Secrets of gatewayapi-base.yaml and the fixtures that harness.yaml describes, translated, and
// written as every resource with its status plus the xDS and infra IR (secrets redacted, as Envoy
// Gateway prints its IR).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { hashedName } from '../../gatewayapi/naming.js';
import type { TranslatorSettings, WasmCache, WasmModuleRequest, WasmResolution } from '../../gatewayapi/settings.js';
import { mergeGatewaysEnabled } from '../../gatewayapi/translation.js';
import { translate } from '../../gatewayapi/translator.js';
import { redactIR } from '../../ir/redact.js';
import { decodeResource } from '../../resources/decode.js';
import { parseYAML } from '../../resources/load.js';
import type { EndpointSlice, Secret, Service } from '../../api/core/index.js';
import { addKeyedLists, emptyResources, mapResources, type Resources } from '../../resources/resources.js';
import { settingsFor, type Harness } from './harness.js';
import type { Suite } from './main.js';

const OwningGatewayName = 'gateway.envoyproxy.io/owning-gateway-name';
const OwningGatewayNamespace = 'gateway.envoyproxy.io/owning-gateway-namespace';
const OwningGatewayClass = 'gateway.envoyproxy.io/owning-gatewayclass';
const ServiceNameLabel = 'kubernetes.io/service-name';

/**
 * The ports of the numbered fixture Services (service-1 .. service-N), as harness.yaml describes
 * them: one per protocol family the corpus exercises.
 */
const numberedServicePorts: PortSpec[] = [
  { name: 'http', port: 8080, protocol: 'TCP' },
  { name: 'https', port: 8443, protocol: 'TCP' },
  { name: 'tcp', port: 8163, protocol: 'TCP' },
  { name: 'udp', port: 8162, protocol: 'UDP' },
];

/** Cases whose name says so get zone-aware fixture Services (harness.yaml describes the rule). */
const zoneDiscoveryMarker = 'enable-zone-discovery';

interface PortSpec {
  name: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  appProtocol?: string;
}

function service(namespace: string, name: string, clusterIP: string, ports: PortSpec[], labels?: Record<string, string>): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace, name, ...(labels ? { labels } : {}) },
    spec: {
      clusterIP,
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
    },
  };
}

function endpointSlice(namespace: string, name: string, serviceName: string, ports: PortSpec[], address: string, zone?: string, extraLabels?: Record<string, string>): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace, name, labels: { [ServiceNameLabel]: serviceName, ...(extraLabels ?? {}) } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
    endpoints: [{ addresses: [address], conditions: { ready: true }, ...(zone ? { zone } : {}) }],
  };
}

/** The fixtures section of harness.yaml (gatewayapi.fixtures), as it reads. */
export interface Fixtures {
  numberedServices?: { count: number; namespace: string; clusterIP: string; endpoint: string };
  services?: { namespace: string; name: string; clusterIP: string; ports: PortSpec[]; endpoint: string }[];
  proxyService?: { port: number; clusterIP: string; endpoint: string; zone?: string };
  namespaces?: string[];
}

/** Adds the fixture Services, EndpointSlices and Namespaces that harness.yaml describes. */
export function addFixtures(r: Resources, fixtures: Fixtures | undefined, caseName: string, settings: TranslatorSettings): void {
  const numbered = fixtures?.numberedServices;
  if (numbered) {
    const zoned = caseName.includes(zoneDiscoveryMarker);
    for (let i = 1; i <= numbered.count; i++) {
      const svc = service(numbered.namespace, `service-${i}`, numbered.clusterIP, numberedServicePorts);
      if (zoned) svc.spec = { ...svc.spec, trafficDistribution: 'PreferClose' };
      r.services.push(svc);
      const zone = zoned ? `antarctica-east1${String.fromCharCode('a'.charCodeAt(0) + i)}` : undefined;
      r.endpointSlices.push(endpointSlice(numbered.namespace, `endpointslice-${i}`, `service-${i}`, numberedServicePorts, numbered.endpoint, zone));
    }
  }
  for (const s of fixtures?.services ?? []) {
    r.services.push(service(s.namespace, s.name, s.clusterIP, s.ports));
    r.endpointSlices.push(endpointSlice(s.namespace, `${s.name}-endpointslice`, s.name, s.ports, s.endpoint));
  }
  const ps = fixtures?.proxyService;
  if (ps) {
    const ports: PortSpec[] = [{ name: 'http', port: ps.port, protocol: 'TCP' }];
    const add = (namespace: string, name: string, labels: Record<string, string>) => {
      r.services.push(service(namespace, name, ps.clusterIP, ports, labels));
      r.endpointSlices.push(endpointSlice(namespace, name, name, ports, ps.endpoint, ps.zone, labels));
    };
    if (mergeGatewaysEnabled(r)) {
      add(settings.controllerNamespace, `envoy-${hashedName(settings.gatewayClassName, 48)}`, { [OwningGatewayClass]: settings.gatewayClassName });
    } else {
      for (const g of [...r.gateways]) {
        const { namespace = '', name } = g.metadata;
        const labels = { [OwningGatewayName]: name, [OwningGatewayNamespace]: namespace };
        if (settings.gatewayNamespaceMode) add(namespace, name, labels);
        else add(settings.controllerNamespace, `envoy-${hashedName(`${namespace}/${name}`, 48)}`, labels);
      }
    }
  }
  for (const n of fixtures?.namespaces ?? []) r.namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } });
}

const baseCache = new Map<string, Secret[]>();

function baseSecrets(casesDir: string): Secret[] {
  let s = baseCache.get(casesDir);
  if (!s) {
    const path = join(casesDir, '..', 'gatewayapi-base.yaml');
    s = existsSync(path) ? ((parse(readFileSync(path, 'utf8')) ?? {}).secrets ?? []) : [];
    baseCache.set(casesDir, s!);
  }
  return s!;
}

/** The translator settings harness.yaml gives (YAML data: names as strings, flags as booleans). */
export function translatorSettings(raw: Record<string, unknown>): TranslatorSettings {
  return {
    gatewayControllerName: String(raw.gatewayControllerName ?? ''),
    gatewayClassName: String(raw.gatewayClassName ?? ''),
    controllerNamespace: String(raw.controllerNamespace ?? ''),
    globalRateLimitEnabled: !!raw.globalRateLimitEnabled,
    envoyPatchPolicyEnabled: !!raw.envoyPatchPolicyEnabled,
    backendEnabled: !!raw.backendEnabled,
    gatewayNamespaceMode: !!raw.gatewayNamespaceMode,
    runningOnHost: !!raw.runningOnHost,
    luaEnvoyExtensionPolicyDisabled: !!raw.luaEnvoyExtensionPolicyDisabled,
    sdsSecretRefEnabled: !!raw.sdsSecretRefEnabled,
    perResourceSystemCASecret: !!raw.perResourceSystemCASecret,
  };
}

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * The reference test set-up's stand-in for the Wasm module cache (harness.yaml, gatewayapi.wasm):
 * nothing is downloaded; a module's checksum is derived from its URL, and a policy's own sha256
 * must equal it. A test double: `egts serve` and `egts translate` use the real cache (src/wasm/).
 */
export class StandInWasmCache implements WasmCache {
  constructor(private readonly servedUrlPrefix: string) {}

  resolve(url: string, request: WasmModuleRequest): WasmResolution {
    const h = sha256hex(url);
    const checksum = sha256hex(`salt${h}`);
    if (request.sha256 && request.sha256 !== checksum) return { error: `module downloaded from ${url} has checksum ${checksum}, which does not match: ${request.sha256}` };
    return { servingURL: `${this.servedUrlPrefix}${h}.wasm`, checksum };
  }
}

/** Builds the complete bundle of one case, as the reference test set-up does. */
export function caseResources(name: string, input: string, harness: Harness, casesDir: string): { resources: Resources; settings: TranslatorSettings } {
  const doc = (parseYAML(input) ?? {}) as Record<string, unknown>;
  const resources = emptyResources();
  addKeyedLists(resources, doc);
  mapResources(resources, decodeResource);
  resources.secrets.push(...baseSecrets(casesDir));
  const settings = translatorSettings(settingsFor(harness, 'gatewayapi', name));
  const wasmPrefix: unknown = harness.gatewayapi?.wasm?.servedUrlPrefix;
  settings.wasmCache = new StandInWasmCache(typeof wasmPrefix === 'string' ? wasmPrefix : 'https://envoy-gateway.envoy-gateway-system.svc.cluster.local:18002/');
  addFixtures(resources, harness.gatewayapi?.fixtures as Fixtures | undefined, name, settings);
  return { resources, settings };
}

export function runGatewayAPICase(name: string, input: string, harness: Harness, casesDir: string): Record<string, unknown> {
  const { resources, settings } = caseResources(name, input, harness, casesDir);
  const result = translate(resources, settings);
  return { ...result.resources, xdsIR: redactIR(result.xdsIR), infraIR: result.infraIR };
}

const suite: Suite = { runCase: runGatewayAPICase };
export default suite;
