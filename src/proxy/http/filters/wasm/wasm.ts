// envoy.filters.http.wasm: Proxy-Wasm (ABI 0.2.x) plugins on Node's WebAssembly. The plugin is
// started when the configuration is compiled if its code is at hand (local, or remote code
// already fetched), so a module that does not load, imports what this host lacks or refuses its
// configuration is a NACK naming the filter; remote code not fetched yet is fetched through its
// cluster, and streams wait for it. Each stream on a route that enables the filter gets a plugin
// context; the plugin's decisions (continue, pause, buffer, local reply) drive the stream.
// A failed plugin (fetch failed, trap) lets streams through with fail_open, else answers 503.
import { ConfigError } from '../../../config/errors.js';
import { anyType, at, bool, enumOf, field, list, obj, str, type Json } from '../../../config/json.js';
import type { ClusterManagerView } from '../../../upstream/cluster_manager.js';
import { FilterStatus, type HttpFilter } from '../../filter.js';
import { registerHttpFilter } from '../../filter_registry.js';
import { getHeader, type HeaderList } from '../../headers.js';
import type { HttpStream } from '../../stream.js';
import { scriptLog } from '../script_log.js';
import { DataAction, HeadersAction } from './abi.js';
import { PluginError, WasmPlugin, type PluginConfig, type StreamContext, type StreamOwner } from './plugin.js';
import { cachedModule, compileCodeSource, compileModule, fetchModule, type CodeSource } from './source.js';

const WASM = 'envoy.extensions.filters.http.wasm.v3.Wasm';
const RUNTIMES = ['', 'envoy.wasm.runtime.v8', 'envoy.wasm.runtime.wamr', 'envoy.wasm.runtime.wasmtime', 'envoy.wasm.runtime.wavm'];

interface WasmConfig { plugin: PluginConfig; code: CodeSource; failOpen: boolean }

/** An Any carrying configuration bytes: StringValue or BytesValue, as Envoy passes them. */
function configurationBytes(c: Json, name: string, path: string): Buffer {
  const any = obj(c, name, path);
  if (!any) return Buffer.alloc(0);
  const p = at(path, name);
  const type = anyType(any, p);
  if (type === 'google.protobuf.StringValue') return Buffer.from(str(any, 'value', p), 'utf8');
  if (type === 'google.protobuf.BytesValue') return Buffer.from(str(any, 'value', p), 'base64');
  throw new ConfigError(at(p, '@type'), `configuration of type ${type} is not supported (use google.protobuf.StringValue or BytesValue)`);
}

function compileWasm(c: Json, path: string, readFile: (p: string) => Buffer): WasmConfig {
  const pc = obj(c, 'config', path);
  const pp = at(path, 'config');
  if (!pc) throw new ConfigError(pp, 'required');
  const vm = obj(pc, 'vmConfig', pp);
  const vp = at(pp, 'vmConfig');
  if (!vm) throw new ConfigError(vp, 'vm_config is required');
  const runtime = str(vm, 'runtime', vp);
  if (!RUNTIMES.includes(runtime)) throw new ConfigError(at(vp, 'runtime'), `runtime ${runtime} is not supported (this proxy runs modules on V8)`);
  const env: Record<string, string> = {};
  const ev = obj(vm, 'environmentVariables', vp);
  if (ev) {
    for (const k of list(ev, 'hostEnvKeys', at(vp, 'environmentVariables'))) if (typeof k === 'string' && process.env[k] !== undefined) env[k] = process.env[k]!;
    for (const [k, v] of Object.entries(obj(ev, 'keyValues', at(vp, 'environmentVariables')) ?? {})) env[k] = String(v);
  }
  const policy = enumOf(pc, 'failurePolicy', pp, ['UNSPECIFIED', 'FAIL_CLOSED', 'FAIL_OPEN', 'FAIL_RELOAD'] as const, 'UNSPECIFIED');
  const failOpen = policy === 'FAIL_OPEN' || (policy === 'UNSPECIFIED' && bool(pc, 'failOpen', pp));
  const plugin: PluginConfig = {
    name: str(pc, 'name', pp) || str(vm, 'vmId', vp),
    rootId: str(pc, 'rootId', pp),
    vmId: str(vm, 'vmId', vp),
    vmConfiguration: configurationBytes(vm, 'configuration', vp),
    configuration: configurationBytes(pc, 'configuration', pp),
    env,
  };
  if (field(pc, 'capabilityRestrictionConfig') !== undefined) throw new ConfigError(at(pp, 'capabilityRestrictionConfig'), 'not supported by this proxy');
  return { plugin, code: compileCodeSource(vm, vp, readFile), failOpen };
}

/** Plugins by configuration and code: an update that keeps a plugin keeps its instance and state. */
const plugins = new Map<string, WasmPlugin>();

function pluginKey(cfg: WasmConfig): string {
  const p = cfg.plugin;
  return JSON.stringify([cfg.code.sha256, p.name, p.rootId, p.vmId, p.vmConfiguration.toString('base64'), p.configuration.toString('base64'), p.env]);
}

function startPlugin(cfg: WasmConfig, module: WebAssembly.Module): WasmPlugin {
  const key = pluginKey(cfg);
  const kept = plugins.get(key);
  if (kept && !kept.failed) return kept;
  const p = new WasmPlugin(module, cfg.plugin);
  plugins.set(key, p);
  return p;
}

/**
 * Plugins in use, counted by the filters (slots) holding them: once every configuration that used
 * a plugin is gone (collected), its tick stops and the cache forgets it, as Envoy stops a VM
 * nothing uses any more.
 */
const users = new Map<WasmPlugin, number>();
const unused = new FinalizationRegistry<WasmPlugin>((p) => {
  const n = (users.get(p) ?? 1) - 1;
  if (n > 0) { users.set(p, n); return; }
  users.delete(p);
  if (p.tick) { clearInterval(p.tick); p.tick = undefined; }
  for (const [k, v] of plugins) if (v === p) plugins.delete(k);
});

function retain(slot: object, p: WasmPlugin): void {
  users.set(p, (users.get(p) ?? 0) + 1);
  unused.register(slot, p);
}

/** The plugin of one filter: ready, being fetched, or failed. */
class PluginSlot {
  plugin: WasmPlugin | undefined;
  failed: string | undefined;
  private waiters: (() => void)[] | undefined;
  private loading = false;

  constructor(private readonly cfg: WasmConfig, private readonly clusters: ClusterManagerView | undefined) {}

  get pending(): boolean { return !this.plugin && !this.failed; }

  /** Starts fetching remote code (once); `then` runs when the plugin is ready or failed. */
  load(clusters: ClusterManagerView | undefined, then?: () => void): void {
    if (then) (this.waiters ??= []).push(then);
    if (this.loading || !this.pending) return;
    const src = this.cfg.code;
    const via = clusters ?? this.clusters;
    if (src.kind !== 'remote' || !via) return;
    this.loading = true;
    fetchModule(via, src).then(
      (m) => {
        try {
          this.plugin = startPlugin(this.cfg, m);
          this.plugin.clusters ??= via;
          retain(this, this.plugin);
        } catch (e) { this.failed = (e as Error).message; }
      },
      (e: Error) => { this.failed = e.message; },
    ).finally(() => {
      this.loading = false;
      if (this.failed) scriptLog(4, this.cfg.plugin.name, `wasm plugin failed to load: ${this.failed}`);
      const w = this.waiters;
      this.waiters = undefined;
      if (w) for (const f of w) f();
    });
  }
}

interface StreamState {
  ctx: StreamContext | undefined;
  /** Request body that arrived while the plugin was being fetched. */
  early: Buffer[] | undefined;
  earlyEnd: boolean;
  /** Held body per direction (the plugin buffers or paused), with its end and trailers. */
  requestHeld: boolean;
  responseHeld: boolean;
  requestHeldTrailers: HeaderList | undefined;
  responseHeldTrailers: HeaderList | undefined;
  /** proxy_continue_stream asked during a callback: done when the callback returns. */
  continueRequest: boolean;
  continueResponse: boolean;
}

class WasmFilter implements HttpFilter, StreamOwner {
  constructor(readonly name: string, private readonly slot: PluginSlot, private readonly failOpen: boolean) {}

  private st(s: HttpStream): StreamState | undefined {
    return s.filterState?.get(this) as StreamState | undefined;
  }

  decodeHeaders(s: HttpStream): FilterStatus {
    const slot = this.slot;
    if (slot.pending) {
      const st = this.newState(s);
      s.addDataFilter(this);
      slot.load(s.ctx.clusters, () => {
        if (s.done) return;
        if (this.startStream(s, st) === FilterStatus.Continue) s.continueDecoding();
      });
      return FilterStatus.Stop;
    }
    return this.startStream(s, this.newState(s));
  }

  private newState(s: HttpStream): StreamState {
    const st: StreamState = {
      ctx: undefined, early: undefined, earlyEnd: false, requestHeld: false, responseHeld: false,
      requestHeldTrailers: undefined, responseHeldTrailers: undefined, continueRequest: false, continueResponse: false,
    };
    (s.filterState ??= new Map()).set(this, st);
    return st;
  }

  private startStream(s: HttpStream, st: StreamState): FilterStatus {
    const p = this.slot.plugin;
    if (!p || p.failed) return this.failure(s);
    const ctx = (st.ctx = p.newStream(s, this));
    s.watchCompletion(this);
    if (p.has('proxy_on_request_body') || p.has('proxy_on_response_body') || p.has('proxy_on_request_trailers') || p.has('proxy_on_response_trailers')) {
      s.addDataFilter(this);
    }
    ctx.requestEnd = s.headersOnly;
    const length = getHeader(s.headers, 'content-length');
    const action = this.callHook(s, st, 'proxy_on_request_headers', s.headers.length / 2 + 4, s.headersOnly ? 1 : 0, false);
    if (action === undefined) return FilterStatus.Stop;
    // A plugin that rewrites the body drops or rewrites content-length: the upstream framing follows.
    const after = getHeader(s.headers, 'content-length');
    if (after !== length && !s.headersOnly) s.bodyLength = after !== undefined && /^\d+$/.test(after) ? Number(after) : -1;
    if (action !== HeadersAction.Continue && action !== HeadersAction.ContinueAndEndStream) ctx.requestPaused = true;
    // Body that came while the plugin was being fetched goes through it now.
    if (st.early) {
      const early = Buffer.concat(st.early);
      st.early = undefined;
      const out = this.decodeData(s, early, st.earlyEnd);
      if (out !== undefined) { st.requestHeld = true; ctx.requestBody = out; ctx.requestEnd = st.earlyEnd; }
    }
    if (ctx.requestPaused) return FilterStatus.Stop;
    if (st.requestHeld) { this.releaseRequest(s, st); }
    return FilterStatus.Continue;
  }

  /**
   * Calls a stream hook; undefined when the stream was answered (local reply, failure) and the
   * caller must stop. Continuations the plugin asked for during the call run after it.
   */
  private callHook(s: HttpStream, st: StreamState, name: string, a: number, b: number, response: boolean): number | undefined {
    const p = this.slot.plugin!;
    const ctx = st.ctx!;
    const r = p.call(ctx, name, ctx.id, a, b);
    if (this.settle(s, st)) return undefined;
    // Continuing the direction being processed from inside its own callback means: go on now.
    let action = r ?? 0;
    if (response ? st.continueResponse : st.continueRequest) {
      if (response) st.continueResponse = false; else st.continueRequest = false;
      action = 0;
    }
    if (st.continueRequest || st.continueResponse) this.runContinuations(s, st);
    return action;
  }

  /** After the plugin ran: its local reply, or the failure policy; true when the stream was answered. */
  private settle(s: HttpStream, st: StreamState): boolean {
    const ctx = st.ctx!;
    if (ctx.reply && !ctx.replied) {
      ctx.replied = true;
      const r = ctx.reply;
      s.sendResponse(r.status, r.headers, r.body.length ? r.body : undefined, r.details);
      return true;
    }
    if (this.slot.plugin?.failed) {
      if (this.failOpen) return false;
      s.sendLocalReply(503, '', 'wasm_fail_stream');
      return true;
    }
    return s.done;
  }

  /** Body the plugin buffers past the connection's buffer limit: 413 (request) or 500 (response). */
  private overLimit(s: HttpStream, held: Buffer, response: boolean): undefined {
    if (held.length > s.ctx.bufferLimit) {
      if (response) s.sendLocalReply(500, '', 'response_payload_too_large');
      else s.sendLocalReply(413, 'Payload Too Large', 'request_payload_too_large');
    }
    return undefined;
  }

  private failure(s: HttpStream): FilterStatus {
    if (this.failOpen) return FilterStatus.Continue;
    s.sendLocalReply(503, '', 'wasm_fail_stream');
    return FilterStatus.Stop;
  }

  decodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const st = this.st(s);
    if (!st) return chunk;
    const ctx = st.ctx;
    if (!ctx) {
      if (!this.slot.pending) return chunk;
      (st.early ??= []).push(chunk);
      st.earlyEnd ||= end;
      return undefined;
    }
    if (ctx.replied) return undefined;
    const p = this.slot.plugin!;
    ctx.requestBody = st.requestHeld ? Buffer.concat([ctx.requestBody, chunk]) : chunk;
    ctx.requestEnd = end;
    if (!p.has('proxy_on_request_body')) {
      if (!ctx.requestPaused) return chunk;
      st.requestHeld = true;
      return undefined;
    }
    const action = this.callHook(s, st, 'proxy_on_request_body', ctx.requestBody.length, end ? 1 : 0, false);
    if (action === undefined) return undefined;
    if (action !== DataAction.Continue) { st.requestHeld = true; return this.overLimit(s, ctx.requestBody, false); }
    const out = ctx.requestBody;
    st.requestHeld = false;
    ctx.requestBody = EMPTY;
    if (ctx.requestPaused) { ctx.requestPaused = false; s.continueDecoding(); }
    return out;
  }

  decodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const st = this.st(s);
    const ctx = st?.ctx;
    if (!st || !ctx || ctx.replied) return FilterStatus.Continue;
    ctx.requestTrailers = trailers;
    ctx.requestEnd = true;
    if (this.slot.plugin!.has('proxy_on_request_trailers')) {
      const action = this.callHook(s, st, 'proxy_on_request_trailers', trailers.length / 2, 0, false);
      if (action === undefined) return FilterStatus.Stop;
      if (action !== HeadersAction.Continue) ctx.requestPaused = true;
    }
    if (st.requestHeld || ctx.requestPaused) { st.requestHeld = true; st.requestHeldTrailers = trailers; return FilterStatus.Stop; }
    return FilterStatus.Continue;
  }

  encodeHeaders(s: HttpStream, headers: HeaderList): FilterStatus {
    const st = this.st(s);
    const ctx = st?.ctx;
    if (!st || !ctx || ctx.replied || ctx.done) return FilterStatus.Continue;
    ctx.responseEnd = s.responseEnd;
    const action = this.callHook(s, st, 'proxy_on_response_headers', headers.length / 2 + 1, s.responseEnd ? 1 : 0, true);
    if (action === undefined) return FilterStatus.Stop;
    if (action !== HeadersAction.Continue && action !== HeadersAction.ContinueAndEndStream) { ctx.responsePaused = true; return FilterStatus.Stop; }
    return FilterStatus.Continue;
  }

  encodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    const st = this.st(s);
    const ctx = st?.ctx;
    if (!st || !ctx || ctx.replied) return chunk;
    const p = this.slot.plugin!;
    ctx.responseBody = st.responseHeld ? Buffer.concat([ctx.responseBody, chunk]) : chunk;
    ctx.responseEnd = end;
    if (!p.has('proxy_on_response_body')) {
      if (!ctx.responsePaused) return chunk;
      st.responseHeld = true;
      return undefined;
    }
    const action = this.callHook(s, st, 'proxy_on_response_body', ctx.responseBody.length, end ? 1 : 0, true);
    if (action === undefined) return undefined;
    if (action !== DataAction.Continue) { st.responseHeld = true; return this.overLimit(s, ctx.responseBody, true); }
    const out = ctx.responseBody;
    st.responseHeld = false;
    ctx.responseBody = EMPTY;
    if (ctx.responsePaused) { ctx.responsePaused = false; s.continueEncoding(); }
    return out;
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    const st = this.st(s);
    const ctx = st?.ctx;
    if (!st || !ctx || ctx.replied) return FilterStatus.Continue;
    ctx.responseTrailers = trailers;
    ctx.responseEnd = true;
    if (this.slot.plugin!.has('proxy_on_response_trailers')) {
      const action = this.callHook(s, st, 'proxy_on_response_trailers', trailers.length / 2, 0, true);
      if (action === undefined) return FilterStatus.Stop;
      if (action !== HeadersAction.Continue) ctx.responsePaused = true;
    }
    if (st.responseHeld || ctx.responsePaused) { st.responseHeld = true; st.responseHeldTrailers = trailers; return FilterStatus.Stop; }
    return FilterStatus.Continue;
  }

  onStreamComplete(s: HttpStream): void {
    const ctx = this.st(s)?.ctx;
    if (ctx) this.slot.plugin?.endStream(ctx);
  }

  // --- StreamOwner: what the plugin asks of its stream ---

  continueStream(ctx: StreamContext, response: boolean): void {
    const st = this.st(ctx.s);
    if (!st || ctx.done) return;
    if (response) st.continueResponse = true; else st.continueRequest = true;
    // Inside one of this stream's callbacks it happens when the callback returns.
    if (this.slot.plugin?.current !== ctx) this.runContinuations(ctx.s, st);
  }

  closeStream(ctx: StreamContext): void {
    const s = ctx.s;
    if (s.done) return;
    s.router?.cancel();
    s.codec.resetStream(s);
    s.complete();
  }

  afterCallback(ctx: StreamContext): void {
    const st = this.st(ctx.s);
    if (!st || ctx.s.done) return;
    if (this.settle(ctx.s, st)) return;
    this.runContinuations(ctx.s, st);
  }

  private runContinuations(s: HttpStream, st: StreamState): void {
    const ctx = st.ctx!;
    if (st.continueRequest) {
      st.continueRequest = false;
      const paused = ctx.requestPaused;
      ctx.requestPaused = false;
      if (st.requestHeld) this.releaseRequest(s, st);
      if (paused && !s.done) s.continueDecoding();
    }
    if (st.continueResponse && !s.done) {
      st.continueResponse = false;
      const paused = ctx.responsePaused;
      ctx.responsePaused = false;
      if (st.responseHeld) {
        const body = ctx.responseBody;
        const trailers = st.responseHeldTrailers;
        st.responseHeld = false; st.responseHeldTrailers = undefined; ctx.responseBody = EMPTY;
        if (body.length || ctx.responseEnd) s.injectEncodedData(this, body, ctx.responseEnd && !trailers);
        if (trailers) s.injectEncodedTrailers(this, trailers);
      }
      if (paused && !s.done) s.continueEncoding();
    }
  }

  /** Passes on the request body the plugin held (then its trailers). */
  private releaseRequest(s: HttpStream, st: StreamState): void {
    const ctx = st.ctx!;
    const body = ctx.requestBody;
    const trailers = st.requestHeldTrailers;
    st.requestHeld = false; st.requestHeldTrailers = undefined; ctx.requestBody = EMPTY;
    if (body.length || ctx.requestEnd) s.injectDecodedData(this, body, ctx.requestEnd && !trailers);
    if (trailers) s.injectDecodedTrailers(this, trailers);
  }
}

const EMPTY = Buffer.alloc(0);

registerHttpFilter({
  configType: WASM,
  create: (name, c, path, ctx) => {
    const cfg = compileWasm(c, path, ctx.readFile);
    const slot = new PluginSlot(cfg, ctx.clusters);
    const module = cfg.code.kind === 'local' ? undefined : cachedModule(cfg.code.sha256);
    const codePath = at(at(at(path, 'config'), 'vmConfig'), 'code');
    try {
      if (cfg.code.kind === 'local') slot.plugin = startPlugin(cfg, compileModule(cfg.code.bytes, cfg.code.sha256));
      else if (module) slot.plugin = startPlugin(cfg, module);
    } catch (e) {
      if (e instanceof PluginError || e instanceof WebAssembly.CompileError || e instanceof WebAssembly.LinkError) {
        throw new ConfigError(codePath, `wasm plugin ${cfg.plugin.name || name}: ${e.message}`);
      }
      throw e;
    }
    if (slot.plugin) { slot.plugin.clusters ??= ctx.clusters; retain(slot, slot.plugin); }
    // Remote code: fetched once the update is applied (its cluster may be part of it), or by
    // the first request that needs it.
    else if (ctx.clusters && cfg.code.kind === 'remote') {
      const { cluster } = cfg.code.uri;
      setImmediate(() => { if (ctx.clusters?.get(cluster)) slot.load(undefined); });
    }
    return new WasmFilter(name, slot, cfg.failOpen);
  },
});
