// EnvoyExtensionPolicy: custom code on the request path of the routes a policy reaches — external
// processors, Wasm modules, Lua scripts and dynamic modules. An extension that cannot be built
// makes the route answer 500, unless it (and every other broken one) is set to fail open.
import type { EnvoyExtensionPolicy, EnvoyExtensionPolicySpec } from '../api/envoygateway/index.js';
import type * as ir from '../ir/xds.js';
import { clusterTraffic, SettingError } from './clustersettings.js';
import type { GatewayContext, ListenerContext, RouteContext, WithStatus } from './contexts.js';
import { formatDuration, parseDuration } from './duration.js';
import { extServiceDestination } from './extservice.js';
import { validateLua, type LuaValidationType } from './luavalidation.js';
import { processPolicies, type PolicyHandler } from './policyattach.js';
import type { PolicyTarget } from './policytargets.js';
import type { Translation } from './translation.js';
import { wasmDownloadURL, wasmModuleRequest } from './wasmcode.js';

const Kind = 'EnvoyExtensionPolicy';

type Policy = EnvoyExtensionPolicy;
type Spec = Partial<EnvoyExtensionPolicySpec>;
const extensionKinds = ['wasm', 'extProc', 'lua', 'dynamicModule'] as const;
type ExtensionKind = (typeof extensionKinds)[number];
type Item<K extends ExtensionKind> = NonNullable<EnvoyExtensionPolicySpec[K]>[number];

export function processEnvoyExtensionPolicies(t: Translation, routes: readonly RouteContext[]): WithStatus<Policy>[] {
  return processPolicies(t, t.resources.envoyExtensionPolicies, routes, new ExtensionHandler(t));
}

/** One kind of extension, built: what goes in the IR, and how a failure should be taken. */
interface Part<T> {
  items: T[];
  errors: string[];
  /** The failure, if any, lets requests through (every broken item fails open). */
  failOpen: boolean;
}

class ExtensionHandler implements PolicyHandler<Policy> {
  readonly kind = Kind;
  readonly plural = 'envoyExtensionPolicies';

  constructor(private readonly t: Translation) {}

  deprecations(policy: Policy): string[] {
    return policy.spec?.targetRef ? ['spec.targetRef is deprecated, use spec.targetRefs instead'] : [];
  }

  /**
   * A route's policy merged onto its Gateway's: each kind of extension comes whole from the route's
   * policy when it has that kind, else from the Gateway's (lists are replaced, not merged).
   */
  merge(parent: Policy, policy: Policy): Spec {
    const spec: Spec = { ...policy.spec };
    for (const k of extensionKinds) if (spec[k] === undefined && parent.spec?.[k] !== undefined) (spec as Record<string, unknown>)[k] = parent.spec[k];
    return spec;
  }

  applyToRoute(policy: Policy, _spec: Spec, rc: RouteContext, tg: PolicyTarget, l?: ListenerContext, parent?: Policy): string[] {
    const t = this.t;
    // Each kind of extension is built as the policy that gave it would build it: named after it,
    // its references resolved in its namespace.
    const owner = (k: ExtensionKind): Policy => (parent && policy.spec?.[k] === undefined ? parent : policy);
    const wasm = this.wasms(owner('wasm'), owner('wasm').spec);
    const errors = [...wasm.errors];
    const prefix = rc.irPrefix;
    for (const pc of rc.parents) {
      const g = pc.gateway;
      if (!g || (l && g !== l.gateway)) continue;
      const lua = this.luas(owner('lua'), owner('lua').spec, g);
      const ext = this.extProcs(owner('extProc'), owner('extProc').spec, g);
      const dm = this.dynamicModules(owner('dynamicModule'), owner('dynamicModule').spec, g);
      errors.push(...lua.errors, ...ext.errors, ...dm.errors);
      const xds = t.xdsIR[t.irKey(g)];
      if (!xds) continue;
      for (const x of pc.listeners) {
        if (l && x !== l) continue;
        const h = (xds.http ?? []).find((hl) => hl.name === x.irName);
        for (const r of h?.routes ?? []) {
          if (tg.sectionName !== undefined && r.metadata?.sectionName !== tg.sectionName) continue;
          if (!r.name.startsWith(prefix) || r.envoyExtensions) continue;
          apply(r, ext, wasm, lua, dm);
        }
      }
    }
    return errors;
  }

  applyToListeners(policy: Policy, g: GatewayContext, listeners: readonly ListenerContext[]): string[] {
    const t = this.t;
    const spec: Spec = policy.spec ?? {};
    const ext = this.extProcs(policy, spec, g);
    const wasm = this.wasms(policy, spec);
    const lua = this.luas(policy, spec, g);
    const dm = this.dynamicModules(policy, spec, g);
    const xds = t.xdsIR[t.irKey(g)];
    const names = new Set(listeners.map((l) => l.irName));
    for (const h of xds?.http ?? []) {
      if (!names.has(h.name)) continue;
      for (const r of h.routes ?? []) if (!r.envoyExtensions) apply(r, ext, wasm, lua, dm);
    }
    return [...ext.errors, ...wasm.errors, ...lua.errors, ...dm.errors];
  }

  private extProcs(policy: Policy, spec: Spec, g: GatewayContext): Part<ir.ExtProc> {
    const ns: string = policy.metadata?.namespace ?? '';
    const base = `envoyextensionpolicy/${ns}/${policy.metadata.name}`;
    return collect(spec.extProc, 'ExtProc', (ep: Item<'extProc'>, i) => {
      const refs = ep.backendRefs?.length ? ep.backendRefs : ep.backendRef ? [ep.backendRef] : [];
      const d = extServiceDestination(this.t, policy, Kind, refs, 'GRPC', g.envoyProxy, 'extproc', i);
      if ('error' in d) throw new SettingError(d.error);
      const first = refs[0]!;
      const authority = `${first.name}.${first.namespace || ns}${first.port !== undefined && first.port !== null ? `:${first.port}` : ''}`;
      const out: ir.ExtProc = { name: `${base}/extproc/${i}`, destination: d.destination, authority };
      const traffic = clusterTraffic(ep.backendSettings);
      if (traffic) out.traffic = traffic;
      if (ep.messageTimeout !== undefined && ep.messageTimeout !== null) {
        const ms = parseDuration(ep.messageTimeout);
        if (ms === undefined) throw new SettingError(`invalid ExtProc MessageTimeout value ${ep.messageTimeout}`);
        out.messageTimeout = formatDuration(ms);
      }
      if (ep.shadowMode !== undefined && ep.shadowMode !== null) out.shadowMode = ep.shadowMode;
      if (ep.failOpen !== undefined && ep.failOpen !== null) out.failOpen = ep.failOpen;
      if (ep.statusOnError !== undefined && ep.statusOnError !== null) out.statusOnError = ep.statusOnError;
      const pm = ep.processingMode;
      if (pm) {
        if (pm.request) {
          out.requestHeaderProcessing = true;
          if (pm.request.body) out.requestBodyProcessingMode = pm.request.body;
          if (pm.request.attributes) out.requestAttributes = [...pm.request.attributes];
        }
        if (pm.response) {
          out.responseHeaderProcessing = true;
          if (pm.response.body) out.responseBodyProcessingMode = pm.response.body;
          if (pm.response.attributes) out.responseAttributes = [...pm.response.attributes];
        }
        if (pm.allowModeOverride !== undefined && pm.allowModeOverride !== null) out.allowModeOverride = pm.allowModeOverride;
      }
      if (ep.metadata?.accessibleNamespaces) out.forwardingMetadataNamespaces = [...ep.metadata.accessibleNamespaces];
      if (ep.metadata?.writableNamespaces) out.receivingMetadataNamespaces = [...ep.metadata.writableNamespaces];
      return out;
    });
  }

  private wasms(policy: Policy, spec: Spec): Part<ir.Wasm> {
    const ns: string = policy.metadata?.namespace ?? '';
    const base = `envoyextensionpolicy/${ns}/${policy.metadata.name}`;
    return collect(spec.wasm, 'Wasm', (w: Item<'wasm'>, i) => {
      const name = `${base}/wasm/${i}`;
      const code = wasmCode(this.t, policy, i, w.code ?? {});
      const out: ir.Wasm = { name, wasmName: w.name ?? name, config: w.config ?? null, failOpen: !!w.failOpen, httpWasmCode: code };
      if (w.rootID) out.rootID = w.rootID;
      if (w.env?.hostKeys?.length) out.hostKeys = [...w.env.hostKeys];
      return out;
    });
  }

  private luas(policy: Policy, spec: Spec, g: GatewayContext): Part<ir.Lua> {
    const lua = spec.lua ?? [];
    if (lua.length && this.t.settings.luaEnvoyExtensionPolicyDisabled) {
      return { items: [], errors: ['Lua: Skipping Lua EnvoyExtensionPolicy as feature is disabled in the Gateway'], failOpen: false };
    }
    const ns: string = policy.metadata?.namespace ?? '';
    const base = `envoyextensionpolicy/${ns}/${policy.metadata.name}`;
    const proxy = g.envoyProxy?.spec;
    const validation: LuaValidationType = proxy?.lua?.validationType ?? proxy?.luaValidation ?? 'Strict';
    const part = collect(lua, 'Lua', (l: Item<'lua'>, i): ir.Lua => {
      let code: string | undefined = l.inline;
      if (l.type === 'ValueRef') {
        const cm = this.t.lookups.configMap(ns, l.valueRef?.name ?? '');
        if (!cm) throw new SettingError(`can't find the referenced configmap ${l.valueRef?.name} in namespace ${ns}`);
        const data: Record<string, string> = cm.data ?? {};
        code = data.lua ?? data[Object.keys(data)[0] ?? ''];
        if (code === undefined) throw new SettingError(`can't find the key lua in the referenced configmap ${l.valueRef?.name}`);
      }
      const name = `${base}/lua/${i}`;
      const invalid = validateLua(code ?? '', validation);
      if (invalid) throw new SettingError(`validation failed for lua body in policy with name ${name}: ${invalid}`);
      // The IR spells these fields as Envoy Gateway's Go type names them.
      return { Name: name, Code: code ?? '', FilterContext: l.filterContext ?? null };
    });
    // A Lua script has no fail-open setting.
    part.failOpen = false;
    return part;
  }

  private dynamicModules(policy: Policy, spec: Spec, g: GatewayContext): Part<ir.DynamicModule> {
    const ns: string = policy.metadata?.namespace ?? '';
    const base = `envoyextensionpolicy/${ns}/${policy.metadata.name}`;
    const registry = new Map<string, DynamicModuleEntry>();
    for (const e of g.envoyProxy?.spec?.dynamicModules ?? []) registry.set(e.name, e);
    const part = collect(spec.dynamicModule, 'DynamicModule', (dm: Item<'dynamicModule'>, i) => {
      const entry = registry.get(dm.name);
      if (!entry) throw new SettingError(`dynamic module "${dm.name}" is not registered in the EnvoyProxy dynamicModules allowlist`);
      const out: ir.DynamicModule = {
        name: `${base}/dynamic-module/${i}`,
        filterName: dm.filterName ?? '',
        doNotClose: !!entry.doNotClose,
        loadGlobally: !!entry.loadGlobally,
        terminalFilter: !!dm.terminalFilter,
      };
      if (dm.config !== undefined) out.config = dm.config;
      const type = entry.source?.type ?? 'Local';
      if (type === 'Remote') {
        const r = entry.source?.remote;
        if (!r?.url) throw new SettingError(`dynamic module "${dm.name}" has no remote source URL configured`);
        if (!r.sha256) throw new SettingError(`dynamic module "${dm.name}" has no remote source SHA256 configured`);
        if (!/^https:\/\//.test(r.url)) throw new SettingError(`dynamic module "${dm.name}" has invalid remote source URL "${r.url}"`);
        out.remote = { url: r.url, sha256: r.sha256 };
      } else if (type === 'Local') {
        if (!entry.source?.local) throw new SettingError(`dynamic module "${dm.name}" has no local source configured`);
        out.path = entry.source.local.path;
      } else throw new SettingError(`dynamic module "${dm.name}" has unsupported source type "${type}"`);
      return out;
    });
    part.failOpen = false;
    return part;
  }
}

type DynamicModuleEntry = NonNullable<NonNullable<NonNullable<GatewayContext['envoyProxy']>['spec']>['dynamicModules']>[number];

/** Builds the items of one extension kind; a failure is fail-open only when every failed item is. */
function collect<X extends object, T>(list: readonly X[] | undefined, what: string, build: (x: X, i: number) => T): Part<T> {
  const part: Part<T> = { items: [], errors: [], failOpen: false };
  let failClosed = false;
  (list ?? []).forEach((x, i) => {
    try {
      part.items.push(build(x, i));
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      part.errors.push(`${what}: ${e.message}`);
      // Lua scripts and dynamic modules have no failOpen: they always fail closed.
      if (!('failOpen' in x && x.failOpen)) failClosed = true;
    }
  });
  part.failOpen = part.errors.length > 0 && !failClosed;
  return part;
}

function apply(r: ir.HTTPRoute, ext: Part<ir.ExtProc>, wasm: Part<ir.Wasm>, lua: Part<ir.Lua>, dm: Part<ir.DynamicModule>): void {
  const fail = [ext, wasm, lua, dm].some((p) => p.errors.length && !p.failOpen);
  if (fail) {
    r.directResponse = { statusCode: 500 };
    return;
  }
  const out: ir.EnvoyExtensionFeatures = {};
  if (ext.items.length) out.extProcs = ext.items;
  if (wasm.items.length) out.wasms = wasm.items;
  if (lua.items.length) out.luas = lua.items;
  if (dm.items.length) out.dynamicModules = dm.items;
  r.envoyExtensions = out;
}

/**
 * Where the proxy fetches a Wasm module: Envoy Gateway serves each module from its own cache, which
 * fetched it beforehand (the translator does no I/O) and checked the user's checksum.
 */
function wasmCode(t: Translation, policy: Policy, i: number, code: Partial<Item<'wasm'>['code']>): NonNullable<ir.Wasm['httpWasmCode']> {
  const url = wasmDownloadURL(code);
  const request = wasmModuleRequest(t.lookups, policy, i, code);
  const cache = t.settings.wasmCache;
  if (!cache) throw new SettingError(`no Wasm module cache to fetch ${url} with`);
  const got = cache.resolve(url, request);
  if ('error' in got) throw new SettingError(got.error);
  return { originalDownloadingURL: url, servingURL: got.servingURL, sha256: got.checksum };
}
