// One Proxy-Wasm plugin running in Node's WebAssembly: the module instantiated with the host's
// functions (host.ts, wasi.ts), its root context started (proxy_on_vm_start, proxy_on_configure)
// and one context per HTTP stream. Calls into the module go through call(), which sets the
// context the host functions act on and turns a trap into a failed plugin (the stream then
// follows the failure policy) instead of an exception in the worker.
import type { AsyncCall } from '../../async_client.js';
import type { HeaderList } from '../../headers.js';
import type { HttpStream } from '../../stream.js';
import type { ClusterManagerView } from '../../../upstream/cluster_manager.js';
import { scriptLog } from '../script_log.js';
import { ABI_VERSIONS, WasmResult } from './abi.js';
import { hostFunctions } from './host.js';
import { ProcExit, wasiFunctions } from './wasi.js';

export interface PluginConfig {
  /** PluginConfig.name (log lines, the plugin_name property). */
  name: string;
  rootId: string;
  vmId: string;
  vmConfiguration: Buffer;
  configuration: Buffer;
  /** Environment the module's WASI sees (VmConfig.environment_variables). */
  env: Record<string, string>;
}

/** What a stream context needs from the filter that owns it. */
export interface StreamOwner {
  /** proxy_continue_stream / proxy_continue_request|response. */
  continueStream(ctx: StreamContext, response: boolean): void;
  /** proxy_close_stream: the stream is reset. */
  closeStream(ctx: StreamContext): void;
  /** A callback outside the stream's own hooks (an HTTP call's answer) returned. */
  afterCallback(ctx: StreamContext): void;
}

export interface HttpCallResponse { status: number; headers: HeaderList; body: Buffer; trailers: HeaderList }

export interface RootContext { readonly kind: 'root'; readonly id: number; callResponse?: HttpCallResponse; calls?: Map<number, AsyncCall> }

export interface StreamContext {
  readonly kind: 'stream';
  readonly id: number;
  readonly s: HttpStream;
  readonly owner: StreamOwner;
  /** Body the plugin is looking at or holds, per direction. */
  requestBody: Buffer;
  responseBody: Buffer;
  requestEnd: boolean;
  responseEnd: boolean;
  requestTrailers: HeaderList | undefined;
  responseTrailers: HeaderList | undefined;
  /** The plugin stopped the headers (or buffered the body) of that direction and has not continued. */
  requestPaused: boolean;
  responsePaused: boolean;
  /** proxy_send_local_response, sent once the module has returned. */
  reply: { status: number; headers: HeaderList; body: Buffer; details: string } | undefined;
  replied: boolean;
  properties: Map<string, Buffer> | undefined;
  callResponse?: HttpCallResponse;
  calls?: Map<number, AsyncCall>;
  done: boolean;
}

export type Context = RootContext | StreamContext;

/** Why a plugin did not start; the filter reports it as a configuration error. */
export class PluginError extends Error {}

type Export = (...args: (number | bigint)[]) => number | bigint | undefined;

export class WasmPlugin {
  readonly exports: Record<string, Export>;
  private readonly memory: WebAssembly.Memory;
  private buf: ArrayBuffer = new ArrayBuffer(0);
  private u8 = new Uint8Array(0);
  private dv = new DataView(new ArrayBuffer(0));
  private readonly alloc: Export;
  readonly root: RootContext = { kind: 'root', id: 1 };
  private nextId = 2;
  readonly contexts = new Map<number, Context>();
  /** The context whose callback is running: host functions act on it. */
  current: Context | undefined;
  /** Set when the module trapped or refused to start: streams follow the failure policy. */
  failed: string | undefined;
  tick: NodeJS.Timeout | undefined;
  /** The live clusters, for proxy_http_call from the root context. */
  clusters: ClusterManagerView | undefined;
  /** Tokens of proxy_http_call. */
  nextToken = 1;

  constructor(module: WebAssembly.Module, readonly config: PluginConfig) {
    const env = hostFunctions(this);
    const wasi = wasiFunctions(this);
    const missing: string[] = [];
    for (const imp of WebAssembly.Module.imports(module)) {
      const table = imp.module === 'env' ? env : imp.module === 'wasi_snapshot_preview1' || imp.module === 'wasi_unstable' ? wasi : undefined;
      if (imp.kind !== 'function' || !table || !(imp.name in table)) missing.push(`${imp.module}.${imp.name}`);
    }
    if (missing.length) throw new PluginError(`the module imports what this proxy does not provide: ${missing.join(', ')}`);
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(module, { env, wasi_snapshot_preview1: wasi, wasi_unstable: wasi });
    } catch (e) {
      throw new PluginError(`the module does not instantiate: ${(e as Error).message}`);
    }
    this.exports = instance.exports as unknown as Record<string, Export>;
    const mem = instance.exports.memory;
    if (!(mem instanceof WebAssembly.Memory)) throw new PluginError('the module exports no memory');
    this.memory = mem;
    if (!ABI_VERSIONS.some((v) => typeof this.exports[v] === 'function')) {
      throw new PluginError(`the module exports none of ${ABI_VERSIONS.join(', ')} (Proxy-Wasm ABI 0.2.x)`);
    }
    const alloc = this.exports.proxy_on_memory_allocate ?? this.exports.malloc;
    if (typeof alloc !== 'function') throw new PluginError('the module exports neither proxy_on_memory_allocate nor malloc');
    this.alloc = alloc;
    this.start();
  }

  /** Runs the module's initialisation and the root context's start and configuration. */
  private start(): void {
    const init = this.exports._initialize ?? this.exports._start;
    try {
      init?.();
    } catch (e) {
      if (!(e instanceof ProcExit && e.code === 0)) throw new PluginError(`the module's initialisation failed: ${describe(e)}`);
    }
    this.contexts.set(this.root.id, this.root);
    this.call(this.root, 'proxy_on_context_create', this.root.id, 0);
    if (this.call(this.root, 'proxy_on_vm_start', this.root.id, this.config.vmConfiguration.length) === 0) {
      throw new PluginError(this.failed ?? 'proxy_on_vm_start failed');
    }
    if (this.call(this.root, 'proxy_on_configure', this.root.id, this.config.configuration.length) === 0) {
      throw new PluginError(this.failed ?? 'proxy_on_configure failed (the plugin refused its configuration)');
    }
    if (this.failed) throw new PluginError(this.failed);
  }

  has(name: string): boolean {
    return typeof this.exports[name] === 'function';
  }

  /** Calls an export for a context; undefined when it is not exported or the module trapped. */
  call(ctx: Context, name: string, ...args: (number | bigint)[]): number | undefined {
    const f = this.exports[name];
    if (!f || this.failed) return undefined;
    const prev = this.current;
    this.current = ctx;
    try {
      const r = f(...args);
      return typeof r === 'bigint' ? Number(r) : r;
    } catch (e) {
      this.fail(`${name} failed: ${describe(e)}`);
      return undefined;
    } finally {
      this.current = prev;
    }
  }

  fail(why: string): void {
    if (this.failed) return;
    this.failed = why;
    if (this.tick) { clearInterval(this.tick); this.tick = undefined; }
    scriptLog(4, this.config.name, `wasm plugin failed: ${why}`);
  }

  newStream(s: HttpStream, owner: StreamOwner): StreamContext {
    const ctx: StreamContext = {
      kind: 'stream', id: this.nextId++, s, owner, requestBody: EMPTY, responseBody: EMPTY, requestEnd: false, responseEnd: false,
      requestTrailers: undefined, responseTrailers: undefined, requestPaused: false, responsePaused: false,
      reply: undefined, replied: false, properties: undefined, done: false,
    };
    this.contexts.set(ctx.id, ctx);
    this.call(ctx, 'proxy_on_context_create', ctx.id, this.root.id);
    return ctx;
  }

  /** The stream is over: the plugin's done, log and delete callbacks, pending calls dropped. */
  endStream(ctx: StreamContext): void {
    if (ctx.done) return;
    ctx.done = true;
    if (ctx.calls) for (const c of ctx.calls.values()) c.cancel();
    this.call(ctx, 'proxy_on_done', ctx.id);
    this.call(ctx, 'proxy_on_log', ctx.id);
    this.call(ctx, 'proxy_on_delete', ctx.id);
    this.contexts.delete(ctx.id);
  }

  // --- linear memory ---

  private refresh(): void {
    if (this.memory.buffer !== this.buf) {
      this.buf = this.memory.buffer;
      this.u8 = new Uint8Array(this.buf);
      this.dv = new DataView(this.buf);
    }
  }

  /** A copy of [ptr, ptr+len), or undefined when it is outside the memory. */
  read(ptr: number, len: number): Buffer | undefined {
    this.refresh();
    ptr >>>= 0; len >>>= 0;
    if (ptr + len > this.u8.length) return undefined;
    return Buffer.from(this.u8.subarray(ptr, ptr + len));
  }

  readText(ptr: number, len: number): string | undefined {
    return this.read(ptr, len)?.toString('utf8');
  }

  writeU32(ptr: number, v: number): boolean {
    this.refresh();
    ptr >>>= 0;
    if (ptr + 4 > this.u8.length) return false;
    this.dv.setUint32(ptr, v >>> 0, true);
    return true;
  }

  writeU64(ptr: number, v: bigint): boolean {
    this.refresh();
    ptr >>>= 0;
    if (ptr + 8 > this.u8.length) return false;
    this.dv.setBigUint64(ptr, v, true);
    return true;
  }

  write(ptr: number, data: Uint8Array): boolean {
    this.refresh();
    ptr >>>= 0;
    if (ptr + data.length > this.u8.length) return false;
    this.u8.set(data, ptr);
    return true;
  }

  /** Hands bytes to the module: memory from its allocator, address and size at the two pointers. */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): WasmResult {
    let addr = 0;
    if (data.length) {
      const a = this.alloc(data.length);
      addr = Number(a ?? 0);
      if (!addr || !this.write(addr, data)) return WasmResult.InvalidMemoryAccess;
    }
    if (!this.writeU32(ptrPtr, addr) || !this.writeU32(sizePtr, data.length)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }
}

const EMPTY = Buffer.alloc(0);

function describe(e: unknown): string {
  if (e instanceof ProcExit) return `proc_exit(${e.code})`;
  return e instanceof Error ? e.message : String(e);
}
