// The host side of the Proxy-Wasm ABI 0.2.x (the `env` imports): logging, clocks, properties,
// header maps, bodies, local replies, stream control, HTTP calls to clusters, shared data and
// metrics. Every function acts on the context whose callback is running (plugin.current) and
// answers with a proxy_result_t; pointers the module passes are checked against its memory.
import { callCluster } from '../../async_client.js';
import { addHeader, removeHeader, setHeader, validHeaderName, validHeaderValue, type HeaderList } from '../../headers.js';
import { counter, gauge, type Counter, type Gauge } from '../../../stats.js';
import { scriptLog, scriptLogEnabled } from '../script_log.js';
import { getPseudo, setPseudo, withPseudo } from '../stream_headers.js';
import { BufferType, MapType, MetricType, parsePairs, serializePairs, StreamType, WasmResult } from './abi.js';
import type { Context, HttpCallResponse, StreamContext, WasmPlugin } from './plugin.js';
import { propertyOf } from './properties.js';

type Fn = (...args: any[]) => number;

/** A header map of the current context: its list and whether pseudo-headers belong to it. */
interface MapRef { list: HeaderList; pseudo: 'request' | 'response' | 'call' | undefined }

function mapOf(ctx: Context | undefined, type: number): MapRef | undefined {
  if (!ctx) return undefined;
  if (type === MapType.HttpCallResponseHeaders) return ctx.callResponse && { list: ctx.callResponse.headers, pseudo: 'call' };
  if (type === MapType.HttpCallResponseTrailers) return ctx.callResponse && { list: ctx.callResponse.trailers, pseudo: undefined };
  if (ctx.kind !== 'stream') return undefined;
  switch (type) {
    case MapType.HttpRequestHeaders: return { list: ctx.s.headers, pseudo: 'request' };
    case MapType.HttpRequestTrailers: return ctx.requestTrailers && { list: ctx.requestTrailers, pseudo: undefined };
    case MapType.HttpResponseHeaders: return ctx.s.responseHeaders && { list: ctx.s.responseHeaders, pseudo: 'response' };
    case MapType.HttpResponseTrailers: return ctx.responseTrailers && { list: ctx.responseTrailers, pseudo: undefined };
  }
  return undefined;
}

function pairsOf(ctx: Context, m: MapRef): string[] {
  if (m.pseudo === 'call') {
    const status = (ctx.callResponse as HttpCallResponse).status;
    return status ? [':status', String(status), ...m.list] : m.list;
  }
  if (m.pseudo && ctx.kind === 'stream') return withPseudo(ctx.s, m.pseudo === 'response', m.list);
  return m.list;
}

/** Sets one header of a map; pseudo-headers go to the stream. */
function setIn(ctx: Context, m: MapRef, name: string, value: string, add: boolean): WasmResult {
  if (name.startsWith(':')) {
    if (ctx.kind !== 'stream' || (m.pseudo !== 'request' && m.pseudo !== 'response')) return WasmResult.BadArgument;
    return setPseudo(ctx.s, m.pseudo === 'response', name, value) ? WasmResult.BadArgument : WasmResult.Ok;
  }
  if (!validHeaderName(name) || !validHeaderValue(value)) return WasmResult.BadArgument;
  if (add) addHeader(m.list, name, value); else setHeader(m.list, name, value);
  return WasmResult.Ok;
}

function bufferOf(p: WasmPlugin, ctx: Context | undefined, type: number): Buffer | undefined {
  switch (type) {
    case BufferType.VmConfiguration: return p.config.vmConfiguration;
    case BufferType.PluginConfiguration: return p.config.configuration;
    case BufferType.HttpCallResponseBody: return ctx?.callResponse?.body;
    case BufferType.HttpRequestBody: return ctx?.kind === 'stream' ? ctx.requestBody : undefined;
    case BufferType.HttpResponseBody: return ctx?.kind === 'stream' ? ctx.responseBody : undefined;
  }
  return undefined;
}

const EMPTY = Buffer.alloc(0);

/** Data shared by the plugins of a worker with the same vm_id (proxy_get/set_shared_data). */
const sharedData = new Map<string, { value: Buffer; cas: number }>();

interface Metric { type: MetricType; counter?: Counter; gauge?: Gauge; histogram?: { count: number; sum: number } }

export function hostFunctions(p: WasmPlugin): Record<string, Fn> {
  const metrics: Metric[] = [];
  const stream = (): StreamContext | undefined => (p.current?.kind === 'stream' ? p.current : undefined);
  const text = (ptr: number, len: number) => p.readText(ptr, len);

  return {
    proxy_log(level: number, ptr: number, size: number): number {
      if (!scriptLogEnabled(level)) return WasmResult.Ok;
      const msg = text(ptr, size);
      if (msg === undefined) return WasmResult.InvalidMemoryAccess;
      scriptLog(Math.min(Math.max(level, 0), 5), p.config.name, `wasm log: ${msg}`);
      return WasmResult.Ok;
    },
    proxy_get_log_level(retPtr: number): number {
      let level = 0;
      while (level < 5 && !scriptLogEnabled(level)) level++;
      return p.writeU32(retPtr, level) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_tick_period_milliseconds(ms: number): number {
      if (p.tick) { clearInterval(p.tick); p.tick = undefined; }
      if (ms > 0) {
        p.tick = setInterval(() => p.call(p.root, 'proxy_on_tick', p.root.id), ms);
        p.tick.unref();
      }
      return WasmResult.Ok;
    },
    proxy_get_current_time_nanoseconds(retPtr: number): number {
      return p.writeU64(retPtr, BigInt(Date.now()) * 1_000_000n) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_get_property(pathPtr: number, pathSize: number, retPtr: number, retSize: number): number {
      const raw = p.read(pathPtr, pathSize);
      if (!raw) return WasmResult.InvalidMemoryAccess;
      const path = raw.toString('utf8').replace(/\0+$/, '');
      const own = stream()?.properties?.get(path);
      const v = own ?? propertyOf(p, p.current, path.split('\0'));
      if (v === undefined) return WasmResult.NotFound;
      return p.copyOut(v, retPtr, retSize);
    },
    proxy_set_property(pathPtr: number, pathSize: number, valuePtr: number, valueSize: number): number {
      const ctx = stream();
      const path = p.read(pathPtr, pathSize);
      const value = p.read(valuePtr, valueSize);
      if (!path || !value) return WasmResult.InvalidMemoryAccess;
      if (!ctx) return WasmResult.NotFound;
      (ctx.properties ??= new Map()).set(path.toString('utf8').replace(/\0+$/, ''), value);
      return WasmResult.Ok;
    },

    // --- bodies and configuration ---
    proxy_get_buffer_bytes(type: number, start: number, maxSize: number, retPtr: number, retSize: number): number {
      const b = bufferOf(p, p.current, type);
      if (!b) return WasmResult.NotFound;
      start >>>= 0; maxSize >>>= 0;
      if (start > b.length) return WasmResult.BadArgument;
      return p.copyOut(b.subarray(start, Math.min(b.length, start + maxSize)), retPtr, retSize);
    },
    proxy_get_buffer_status(type: number, lengthPtr: number, flagsPtr: number): number {
      const b = bufferOf(p, p.current, type);
      if (!b) return WasmResult.NotFound;
      return p.writeU32(lengthPtr, b.length) && p.writeU32(flagsPtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_buffer_bytes(type: number, start: number, size: number, dataPtr: number, dataSize: number): number {
      const ctx = stream();
      const data = p.read(dataPtr, dataSize);
      if (!data) return WasmResult.InvalidMemoryAccess;
      if (!ctx || (type !== BufferType.HttpRequestBody && type !== BufferType.HttpResponseBody)) return WasmResult.NotFound;
      const b = type === BufferType.HttpRequestBody ? ctx.requestBody : ctx.responseBody;
      start = Math.min(start >>> 0, b.length);
      const end = Math.min(b.length, start + (size >>> 0));
      const next = Buffer.concat([b.subarray(0, start), data, b.subarray(end)]);
      if (type === BufferType.HttpRequestBody) ctx.requestBody = next; else ctx.responseBody = next;
      return WasmResult.Ok;
    },

    // --- header maps ---
    proxy_get_header_map_pairs(type: number, retPtr: number, retSize: number): number {
      const m = mapOf(p.current, type);
      if (!m) return WasmResult.NotFound;
      return p.copyOut(serializePairs(pairsOf(p.current!, m)), retPtr, retSize);
    },
    proxy_set_header_map_pairs(type: number, ptr: number, size: number): number {
      const m = mapOf(p.current, type);
      const raw = p.read(ptr, size);
      if (!raw) return WasmResult.InvalidMemoryAccess;
      if (!m) return WasmResult.NotFound;
      const pairs = parsePairs(raw);
      if (!pairs) return WasmResult.ParseFailure;
      m.list.length = 0;
      for (let i = 0; i < pairs.length; i += 2) {
        const r = setIn(p.current!, m, pairs[i]!.toLowerCase(), pairs[i + 1]!, true);
        if (r !== WasmResult.Ok) return r;
      }
      return WasmResult.Ok;
    },
    proxy_get_header_map_value(type: number, keyPtr: number, keySize: number, retPtr: number, retSize: number): number {
      const m = mapOf(p.current, type);
      const key = text(keyPtr, keySize)?.toLowerCase();
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      if (!m) return WasmResult.NotFound;
      let v: string | undefined;
      if (key.startsWith(':')) {
        if (m.pseudo === 'call') v = key === ':status' ? String(p.current!.callResponse!.status) : undefined;
        else if (m.pseudo && p.current?.kind === 'stream') v = getPseudo(p.current.s, m.pseudo === 'response', key);
      } else {
        for (let i = 0; i < m.list.length; i += 2) if (m.list[i] === key) { v = m.list[i + 1]; break; }
      }
      // A header that is not there reads as Ok with no data (a null pointer), as SDKs expect.
      return p.copyOut(v === undefined ? EMPTY : Buffer.from(v, 'latin1'), retPtr, retSize);
    },
    proxy_add_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      const m = mapOf(p.current, type);
      const key = text(keyPtr, keySize);
      const value = p.read(valuePtr, valueSize);
      if (key === undefined || !value) return WasmResult.InvalidMemoryAccess;
      if (!m) return WasmResult.NotFound;
      return setIn(p.current!, m, key.toLowerCase(), value.toString('latin1'), true);
    },
    proxy_replace_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number): number {
      const m = mapOf(p.current, type);
      const key = text(keyPtr, keySize);
      const value = p.read(valuePtr, valueSize);
      if (key === undefined || !value) return WasmResult.InvalidMemoryAccess;
      if (!m) return WasmResult.NotFound;
      return setIn(p.current!, m, key.toLowerCase(), value.toString('latin1'), false);
    },
    proxy_remove_header_map_value(type: number, keyPtr: number, keySize: number): number {
      const m = mapOf(p.current, type);
      const key = text(keyPtr, keySize)?.toLowerCase();
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      if (!m) return WasmResult.NotFound;
      if (!key.startsWith(':')) removeHeader(m.list, key);
      return WasmResult.Ok;
    },
    proxy_get_header_map_size(type: number, retPtr: number): number {
      const m = mapOf(p.current, type);
      if (!m) return WasmResult.NotFound;
      let size = 0;
      for (const x of pairsOf(p.current!, m)) size += x.length;
      return p.writeU32(retPtr, size) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    // --- stream control ---
    proxy_send_local_response(status: number, detailsPtr: number, detailsSize: number, bodyPtr: number, bodySize: number, headersPtr: number, headersSize: number, grpcStatus: number): number {
      const ctx = stream();
      const details = text(detailsPtr, detailsSize);
      const body = p.read(bodyPtr, bodySize);
      const raw = p.read(headersPtr, headersSize);
      if (details === undefined || !body || !raw) return WasmResult.InvalidMemoryAccess;
      if (!ctx || ctx.replied) return WasmResult.BadArgument;
      const pairs = parsePairs(raw);
      if (!pairs) return WasmResult.ParseFailure;
      const headers: HeaderList = [];
      for (let i = 0; i < pairs.length; i += 2) {
        const name = pairs[i]!.toLowerCase();
        if (name.startsWith(':') || !validHeaderName(name) || !validHeaderValue(pairs[i + 1]!)) return WasmResult.BadArgument;
        headers.push(name, pairs[i + 1]!);
      }
      if (grpcStatus >= 0) headers.push('grpc-status', String(grpcStatus));
      if (status < 200 || status > 999) return WasmResult.BadArgument;
      ctx.reply = { status, headers, body, details: details ? `wasm: ${details}` : 'wasm_local_response' };
      return WasmResult.Ok;
    },
    proxy_continue_stream(type: number): number {
      const ctx = stream();
      if (!ctx) return WasmResult.NotFound;
      if (type !== StreamType.HttpRequest && type !== StreamType.HttpResponse) return WasmResult.BadArgument;
      ctx.owner.continueStream(ctx, type === StreamType.HttpResponse);
      return WasmResult.Ok;
    },
    proxy_continue_request(): number {
      const ctx = stream();
      if (!ctx) return WasmResult.NotFound;
      ctx.owner.continueStream(ctx, false);
      return WasmResult.Ok;
    },
    proxy_continue_response(): number {
      const ctx = stream();
      if (!ctx) return WasmResult.NotFound;
      ctx.owner.continueStream(ctx, true);
      return WasmResult.Ok;
    },
    proxy_close_stream(_type: number): number {
      const ctx = stream();
      if (!ctx) return WasmResult.NotFound;
      ctx.owner.closeStream(ctx);
      return WasmResult.Ok;
    },
    proxy_clear_route_cache(): number {
      const ctx = stream();
      const table = ctx?.s.hcm.routes.table;
      if (ctx && table) { ctx.s.route = table.route(ctx.s); ctx.s.routeName = ctx.s.route?.name ?? ''; }
      return WasmResult.Ok;
    },
    proxy_set_effective_context(id: number): number {
      const ctx = p.contexts.get(id >>> 0);
      if (!ctx) return WasmResult.BadArgument;
      p.current = ctx;
      return WasmResult.Ok;
    },
    proxy_done(): number { return WasmResult.Ok; },

    // --- calls to clusters ---
    proxy_http_call(upPtr: number, upSize: number, hPtr: number, hSize: number, bPtr: number, bSize: number, tPtr: number, tSize: number, timeoutMs: number, tokenPtr: number): number {
      const ctx = p.current;
      const cluster = text(upPtr, upSize);
      const rawHeaders = p.read(hPtr, hSize);
      const body = p.read(bPtr, bSize);
      const rawTrailers = p.read(tPtr, tSize);
      if (cluster === undefined || !rawHeaders || !body || !rawTrailers) return WasmResult.InvalidMemoryAccess;
      if (!ctx) return WasmResult.BadArgument;
      const clusters = ctx.kind === 'stream' ? ctx.s.ctx.clusters : p.clusters;
      if (!clusters) return WasmResult.InternalFailure;
      const pairs = parsePairs(rawHeaders);
      if (!pairs) return WasmResult.ParseFailure;
      let method = '', path = '', authority = '', scheme: string | undefined;
      const headers: HeaderList = [];
      for (let i = 0; i < pairs.length; i += 2) {
        const name = pairs[i]!.toLowerCase();
        const value = pairs[i + 1]!;
        if (name === ':method') method = value;
        else if (name === ':path') path = value;
        else if (name === ':authority' || name === 'host') authority = value;
        else if (name === ':scheme') scheme = value;
        else if (!name.startsWith(':')) headers.push(name, value);
      }
      if (!method || !path || !authority) return WasmResult.BadArgument;
      if (!clusters.get(cluster)) return WasmResult.BadArgument;
      const call = callCluster(clusters, cluster, { method, path, authority, scheme, headers, body: body.length ? body : undefined, timeoutMs: timeoutMs >>> 0 });
      const token = p.nextToken++;
      (ctx.calls ??= new Map()).set(token, call);
      if (!p.writeU32(tokenPtr, token)) { call.cancel(); return WasmResult.InvalidMemoryAccess; }
      void call.result.then((r) => {
        ctx.calls?.delete(token);
        if (ctx.kind === 'stream' && ctx.done) return;
        // A failed call is answered with no headers and no body (the maps read empty).
        const resp: HttpCallResponse = r.ok
          ? { status: r.response.status, headers: r.response.headers, body: r.response.body, trailers: r.response.trailers ?? [] }
          : { status: 0, headers: [], body: EMPTY, trailers: [] };
        if (!r.ok) scriptLog(3, p.config.name, `wasm http call to ${cluster} failed: ${r.failure} (${r.detail})`);
        ctx.callResponse = resp;
        p.call(ctx, 'proxy_on_http_call_response', ctx.id, token, resp.status ? resp.headers.length / 2 + 1 : 0, resp.body.length, resp.trailers.length / 2);
        ctx.callResponse = undefined;
        if (ctx.kind === 'stream') ctx.owner.afterCallback(ctx);
      });
      return WasmResult.Ok;
    },

    // --- shared data (per worker and vm_id) ---
    proxy_get_shared_data(keyPtr: number, keySize: number, retPtr: number, retSize: number, casPtr: number): number {
      const key = text(keyPtr, keySize);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const e = sharedData.get(`${p.config.vmId}\0${key}`);
      if (!e) return WasmResult.NotFound;
      const r = p.copyOut(e.value, retPtr, retSize);
      if (r !== WasmResult.Ok) return r;
      return p.writeU32(casPtr, e.cas) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_shared_data(keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number): number {
      const key = text(keyPtr, keySize);
      const value = p.read(valuePtr, valueSize);
      if (key === undefined || !value) return WasmResult.InvalidMemoryAccess;
      const k = `${p.config.vmId}\0${key}`;
      const e = sharedData.get(k);
      if (cas !== 0 && e && e.cas !== cas >>> 0) return WasmResult.CasMismatch;
      sharedData.set(k, { value, cas: ((e?.cas ?? 0) + 1) >>> 0 || 1 });
      return WasmResult.Ok;
    },

    // --- metrics (the proxy's stats: counters and gauges; histograms are counted, not exported) ---
    proxy_define_metric(type: number, namePtr: number, nameSize: number, retIdPtr: number): number {
      const name = text(namePtr, nameSize);
      if (name === undefined) return WasmResult.InvalidMemoryAccess;
      let m: Metric;
      if (type === MetricType.Counter) m = { type, counter: counter(name) };
      else if (type === MetricType.Gauge) m = { type, gauge: gauge(name) };
      else if (type === MetricType.Histogram) m = { type, histogram: { count: 0, sum: 0 } };
      else return WasmResult.BadArgument;
      metrics.push(m);
      return p.writeU32(retIdPtr, metrics.length) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_increment_metric(id: number, offset: bigint): number {
      const m = metrics[id - 1];
      if (!m) return WasmResult.NotFound;
      if (m.counter) { if (offset < 0n) return WasmResult.BadArgument; m.counter.value += Number(offset); }
      else if (m.gauge) m.gauge.value += Number(offset);
      else return WasmResult.BadArgument;
      return WasmResult.Ok;
    },
    proxy_record_metric(id: number, value: bigint): number {
      const m = metrics[id - 1];
      if (!m) return WasmResult.NotFound;
      if (m.counter) m.counter.value = Number(value);
      else if (m.gauge) m.gauge.value = Number(value);
      else { m.histogram!.count++; m.histogram!.sum += Number(value); }
      return WasmResult.Ok;
    },
    proxy_get_metric(id: number, retPtr: number): number {
      const m = metrics[id - 1];
      if (!m) return WasmResult.NotFound;
      const v = m.counter?.value ?? m.gauge?.value ?? m.histogram!.count;
      return p.writeU64(retPtr, BigInt(Math.max(0, Math.trunc(v)))) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    // Emscripten-built modules tell the host when memory grew; views are refreshed anyway.
    emscripten_notify_memory_growth(): number { return 0; },
    // AssemblyScript's abort(message, file, line, column): the plugin fails.
    abort(_msg: number, _file: number, line: number, column: number): number {
      throw new Error(`abort at ${line}:${column}`);
    },
  };
}
