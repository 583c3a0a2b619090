// `egts translate -f <file|-> [--to status,ir] [-o yaml|json]`: what a set of manifests becomes,
// offline. Invalid resources are reported with their place and left out; the rest is translated
// for every GatewayClass of our controller and printed with its status and/or the IR.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { EnvoyProxy, EnvoyProxySpec } from '../api/envoygateway/index.js';
import type { GatewayClass } from '../api/gatewayapi/index.js';
import { formatProblem, type Problem } from '../api/place.js';
import { validateObject } from '../api/validate.js';
import { defaultControllerName, defaultSettings } from '../gatewayapi/settings.js';
import { translate } from '../gatewayapi/translator.js';
import { setCondition } from '../gatewayapi/status.js';
import { OIDCDiscovery } from '../provider/oidcdiscovery.js';
import { loadKeyedLists, loadKubernetesYAML, type LoadedObject } from '../resources/load.js';
import { addObject, emptyResources, listOfKind, resourceKey, sortResources, type AnyObject, type Resources } from '../resources/resources.js';
import { redactIR } from '../ir/redact.js';
import type { Xds } from '../ir/xds.js';
import { buildBootstrap, buildConfigDump, dumpSections, type DumpSection } from '../xds/translator/configdump.js';
import { buildRateLimitServiceConfigs } from '../xds/ratelimit/global.js';
import { translateXds } from '../xds/translator/index.js';
import { wasmModulesToFetch } from '../gatewayapi/wasmcode.js';
import { WasmModuleCache } from '../wasm/cache.js';
import { protoValidator } from '../xds/translator/validate.js';

const usage = `usage: egts translate -f <file|-> [-f <file>...] [--to status,ir,xds,ratelimit] [-o yaml|json]
                      [--controller <name>] [--namespace <controller namespace>]
                      [-t all|listener|route|cluster|endpoint|secret|bootstrap] [--xds-address <host:port>]
                      [--rate-limit-service grpc://<host:port>] [--wasm-cache <dir>]

Translates Gateway API and Envoy Gateway resources offline and prints the resources with their
status, the xDS and infra IR, and/or the Envoy configuration (--to xds: a config dump per
IR key, -t selecting the resource types; -t bootstrap: an Envoy bootstrap pointing at egts's
xDS server at --xds-address, default 127.0.0.1:18000). Global rate limits are translated when a
rate limit service is given (--rate-limit-service, as an EnvoyGateway rateLimit would enable them);
--to ratelimit prints that service's configuration per IR key (for egts ratelimit -c). Input is
Kubernetes YAML (documents or Lists) or the golden corpus's keyed lists. Invalid resources are
reported on stderr and left out. The Wasm modules of EnvoyExtensionPolicies are downloaded (HTTP,
OCI images) into --wasm-cache (default ${defaultWasmCacheDir()}) and checked as Envoy
Gateway's cache does; their serving URLs name Envoy Gateway's cache service in --namespace.`;

/** Where `egts translate` keeps Wasm modules: the user's cache folder. */
function defaultWasmCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'egts', 'wasm');
}

interface Options {
  files: string[];
  to: Set<string>;
  output: 'yaml' | 'json';
  controller: string;
  namespace: string;
  section: DumpSection;
  xdsAddress: string;
  /** grpc://host:port of the global rate limit service: global rate limits are enabled. */
  rateLimitService?: string;
  wasmCache: string;
}

function parseArgs(argv: string[]): Options | string {
  const o: Options = { files: [], to: new Set(['status', 'ir']), output: 'yaml', controller: defaultControllerName, namespace: 'envoy-gateway-system', section: 'all', xdsAddress: '127.0.0.1:18000', wasmCache: defaultWasmCacheDir() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '-f' || a === '--file') o.files.push(value());
      else if (a === '--to') {
        o.to = new Set(value().split(',').map((s) => s.trim()).filter(Boolean));
        for (const t of o.to) if (t !== 'status' && t !== 'ir' && t !== 'xds' && t !== 'ratelimit') return `--to takes status, ir, xds and/or ratelimit, not ${t}`;
      } else if (a === '-o' || a === '--output') {
        const v = value();
        if (v !== 'yaml' && v !== 'json') return `-o takes yaml or json, not ${v}`;
        o.output = v;
      } else if (a === '-t' || a === '--type') {
        const v = value() as DumpSection;
        if (!dumpSections.includes(v)) return `-t takes ${dumpSections.join('|')}, not ${v}`;
        o.section = v;
      } else if (a === '--xds-address') o.xdsAddress = value();
      else if (a === '--rate-limit-service') {
        o.rateLimitService = value();
        if (!/^grpc:\/\/[^/]+:\d+$/.test(o.rateLimitService)) return `--rate-limit-service takes grpc://<host>:<port>, not ${o.rateLimitService}`;
      } else if (a === '--controller') o.controller = value();
      else if (a === '--namespace') o.namespace = value();
      else if (a === '--wasm-cache') o.wasmCache = value();
      else return `unknown option ${a}`;
    } catch (e) {
      return (e as Error).message;
    }
  }
  if (!o.files.length) return 'at least one -f <file|-> is required';
  return o;
}

function looksLikeKeyedLists(text: string): boolean {
  // The corpus format has no kind at the top level, only resource lists.
  const firstKey = /^([A-Za-z][\w-]*):/m.exec(text)?.[1];
  return !!firstKey && !['apiVersion', 'kind', 'metadata', 'items'].includes(firstKey) && !!resourceKey(firstKey);
}

/** Loads and validates the input; returns the valid objects and every problem found. */
export function loadInput(text: string, file: string): { objects: LoadedObject[]; problems: Problem[] } {
  const loaded = looksLikeKeyedLists(text) ? loadKeyedLists(text, file) : loadKubernetesYAML(text, file);
  const problems = [...loaded.problems];
  const objects: LoadedObject[] = [];
  for (const o of loaded.objects) {
    if (o.key === 'envoyProxyDefaultSpec') {
      objects.push(o);
      continue;
    }
    // Translated as the API server would have stored it: with the CRDs' defaults.
    const v = validateObject(o.object, o.place, o.locate);
    if (v.ok) objects.push({ ...o, object: v.value });
    else problems.push(...v.problems);
  }
  return { objects, problems };
}

/** One bundle per GatewayClass of the controller (or per class the Gateways name, when none). */
export function bundlesByClass(objects: LoadedObject[], controller: string): { className: string; resources: Resources }[] {
  const all = emptyResources();
  const classes: GatewayClass[] = [];
  const proxies: EnvoyProxy[] = [];
  let defaultSpec: EnvoyProxySpec | undefined;
  for (const { object, key } of objects) {
    const o = object as AnyObject;
    if (key === 'envoyProxyDefaultSpec') defaultSpec = o as EnvoyProxySpec;
    else if (o.kind === 'GatewayClass') classes.push(o as GatewayClass);
    else if (o.kind === 'EnvoyProxy') proxies.push(o as EnvoyProxy);
    else if (listOfKind[o.kind ?? '']) addObject(all, listOfKind[o.kind!]!, o);
  }
  // Every namespace the manifests use exists (without labels) unless given as an object.
  const known = new Set(all.namespaces.map((n) => n.metadata.name));
  for (const { object } of objects) {
    const ns = (object as AnyObject)?.metadata?.namespace;
    if (ns && !known.has(ns)) {
      known.add(ns);
      all.namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
  }
  sortResources(all);
  const ours = classes.filter((c) => c.spec?.controllerName === controller);
  const names = ours.length ? ours.map((c) => c.metadata.name) : [...new Set(all.gateways.map((g) => g.spec?.gatewayClassName).filter(Boolean))];
  return names.map((className) => {
    const r: Resources = { ...all, envoyProxiesForGateways: proxies };
    const gc = ours.find((c) => c.metadata.name === className);
    if (gc) {
      r.gatewayClass = gc;
      const ref = gc.spec?.parametersRef;
      if (ref?.kind === 'EnvoyProxy' && ref.group === 'gateway.envoyproxy.io') {
        r.envoyProxyForGatewayClass = proxies.find((p) => p.metadata.name === ref.name && p.metadata.namespace === ref.namespace);
      }
    }
    if (defaultSpec) r.envoyProxyDefaultSpec = defaultSpec;
    return { className, resources: r };
  });
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    return 0;
  }
  const opts = parseArgs(argv);
  if (typeof opts === 'string') {
    console.error(`egts translate: ${opts}\n\n${usage}`);
    return 2;
  }
  const objects: LoadedObject[] = [];
  const problems: Problem[] = [];
  for (const f of opts.files) {
    let text: string;
    try {
      text = readFileSync(f === '-' ? 0 : f, 'utf8');
    } catch (e) {
      console.error(`egts translate: cannot read ${f}: ${(e as Error).message}`);
      return 2;
    }
    const r = loadInput(text, f === '-' ? '<stdin>' : f);
    objects.push(...r.objects);
    problems.push(...r.problems);
  }
  for (const p of problems) console.error(formatProblem(p));

  const out: Record<string, any> = {};
  // OIDC providers that leave their endpoints to discovery: their issuers are asked first.
  const oidc = new OIDCDiscovery({ onError: (issuer, message) => console.error(`egts translate: OIDC discovery: ${issuer}: ${message}`) });
  let wasmCache: WasmModuleCache | undefined;
  for (const bundle of bundlesByClass(objects, opts.controller)) {
    const { className } = bundle;
    const oidcDiscovery = await oidc.resolve(bundle.resources);
    const resources = oidcDiscovery ? { ...bundle.resources, oidcDiscovery } : bundle.resources;
    // Wasm modules are fetched (and checked) before translating, as serve does.
    const modules = wasmModulesToFetch(resources);
    if (modules.length) {
      wasmCache ??= newWasmCache(opts);
      await wasmCache.prefetch(modules);
    }
    const settings = defaultSettings({
      wasmCache, gatewayControllerName: opts.controller, gatewayClassName: className, controllerNamespace: opts.namespace, backendEnabled: true, envoyPatchPolicyEnabled: true, globalRateLimitEnabled: opts.rateLimitService !== undefined || opts.to.has('ratelimit') });
    const result = translate(resources, settings);
    const gc = result.resources.gatewayClass as AnyObject | undefined;
    // The GatewayClass is ours: accepted unless its parameters were found invalid.
    if (gc && !(gc.status?.conditions ?? []).some((c: any) => c.type === 'Accepted')) {
      gc.status = { ...(gc.status ?? {}), conditions: [...(gc.status?.conditions ?? [])] };
      setCondition(gc.status.conditions, 'Accepted', 'True', 'Accepted', 'The GatewayClass is accepted by this controller');
    }
    if (opts.to.has('status')) {
      for (const [k, v] of Object.entries(result.resources)) {
        if (Array.isArray(v)) (out[k] ??= []).push(...v);
        else if (v) (out[k === 'gatewayClass' ? 'gatewayClasses' : 'envoyProxiesForGatewayClasses'] ??= []).push(v);
      }
    }
    if (opts.to.has('ir')) {
      // Shown as Envoy Gateway shows its IR: secrets redacted (the xDS below has them).
      Object.assign((out.xdsIR ??= {}), redactIR(result.xdsIR));
      Object.assign((out.infraIR ??= {}), result.infraIR);
    }
    if (opts.to.has('xds')) Object.assign((out.xds ??= {}), xdsOutput(result.xdsIR, opts, problems));
    if (opts.to.has('ratelimit')) {
      for (const [key, ir] of Object.entries(result.xdsIR)) (out.rateLimitConfigs ??= {})[key] = buildRateLimitServiceConfigs(ir as Xds);
    }
  }
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(out, null, 2)}\n` : stringify(out, { aliasDuplicateObjects: false }));
  return problems.length ? 1 : 0;
}

function newWasmCache(opts: Options): WasmModuleCache {
  const cache = new WasmModuleCache({ dir: opts.wasmCache, log: { info: () => undefined, warn: (m) => console.error(`egts translate: ${m}`) } });
  cache.setServingURLPrefix(`https://envoy-gateway.${opts.namespace}.svc.cluster.local:18002/`);
  return cache;
}

/** The Envoy configuration of each IR key: a config dump (or bootstrap); translation errors are reported. */
function xdsOutput(irs: Record<string, unknown>, opts: Options, problems: Problem[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, ir] of Object.entries(irs)) {
    if (opts.section === 'bootstrap') {
      out[key] = buildBootstrap({ key, xdsAddress: opts.xdsAddress });
      continue;
    }
    const globalRateLimit = opts.rateLimitService ? { serviceURL: opts.rateLimitService } : undefined;
    const { resources, errors } = translateXds(ir as Xds, { controllerNamespace: opts.namespace, dnsDomain: 'cluster.local', validator: protoValidator, globalRateLimit });
    for (const e of errors) {
      const problem: Problem = { message: e, place: { resource: `xDS ${key}` } };
      console.error(formatProblem(problem));
      problems.push(problem);
    }
    out[key] = buildConfigDump(resources, opts.section);
  }
  return out;
}
