// envoy.filters.http.lua: Lua scripts on the request and response path, with Envoy's stream
// handle API (handle.ts) on fengari (vm.ts). The filter's default_source_code (or inline_code) and
// each of its source_codes are loaded once per configuration and worker, into a state of their
// own; a route picks one by name (LuaPerRoute.name), brings its own (LuaPerRoute.source_code), or
// turns the filter off. envoy_on_request / envoy_on_response run as coroutines: a script that
// asks for the body holds the headers until the body is complete, then the stream goes on with
// whatever the script left. A script error is logged and the stream goes on as the script left it
// (Envoy fails open here: a script that must guard a route has to be written not to fail); a
// route whose script defines neither function costs one lookup.
import { ConfigError } from '../../../config/errors.js';
import { at, bool, dataSource, field, obj, type Json } from '../../../config/json.js';
import { FilterStatus, type HttpFilter } from '../../filter.js';
import { registerHttpFilter } from '../../filter_registry.js';
import { getHeader, setHeader, type HeaderList } from '../../headers.js';
import type { HttpStream } from '../../stream.js';
import { scriptLog } from '../script_log.js';
import { heldBody, installApi, pushBodyResult, pushBuffer, pushCallResult, pushHandle, Wait, type BodyBuffer, type LuaRun } from './handle.js';
import { fengari, INSTRUCTION_BUDGET, LuaLoadError, LuaScript, type LuaState } from './vm.js';

const LUA = 'envoy.extensions.filters.http.lua.v3.Lua';
const LUA_PER_ROUTE = 'envoy.extensions.filters.http.lua.v3.LuaPerRoute';

interface PerRoute {
  disabled: boolean;
  /** A source_codes entry of the filter. */
  name: string | undefined;
  /** The route's own script. */
  script: LuaScript | undefined;
  filterContext: unknown;
}

/** Loads a script; a syntax error or an error in its top level is a configuration error at `path`. */
function loadScript(code: string, source: string, path: string): LuaScript {
  try {
    return new LuaScript(code, `=${source}`, (L) => installApi(L, (level, msg) => scriptLog(level, source, `script log: ${msg}`)));
  } catch (e) {
    if (e instanceof LuaLoadError) throw new ConfigError(path, `the Lua script does not load: ${e.message}`);
    throw e;
  }
}

function compilePerRoute(c: Json, path: string): PerRoute {
  const disabled = bool(c, 'disabled', path);
  const name = field(c, 'name');
  const sc = obj(c, 'sourceCode', path);
  let script: LuaScript | undefined;
  if (sc) {
    if (field(sc, 'filename') !== undefined || field(sc, 'environmentVariable') !== undefined) {
      throw new ConfigError(at(path, 'sourceCode'), 'only inline_string and inline_bytes are supported for a per-route script');
    }
    const code = dataSource(c, 'sourceCode', path, () => Buffer.alloc(0))?.toString('utf8') ?? '';
    script = loadScript(code, 'lua per-route', at(path, 'sourceCode'));
  }
  return { disabled, name: typeof name === 'string' && name ? name : undefined, script, filterContext: field(c, 'filterContext') };
}

/** Where a run's body, trailers and resumption go: the request or the response side of the stream. */
interface Side {
  inject(s: HttpStream, f: HttpFilter, chunk: Buffer, end: boolean): void;
  injectTrailers(s: HttpStream, f: HttpFilter, t: HeaderList): void;
  resume(s: HttpStream): void;
  headers(s: HttpStream): HeaderList;
}

const requestSide: Side = {
  inject: (s, f, c, end) => s.injectDecodedData(f, c, end),
  injectTrailers: (s, f, t) => s.injectDecodedTrailers(f, t),
  resume: (s) => s.continueDecoding(),
  headers: (s) => s.headers,
};

const responseSide: Side = {
  inject: (s, f, c, end) => s.injectEncodedData(f, c, end),
  injectTrailers: (s, f, t) => s.injectEncodedTrailers(f, t),
  resume: (s) => s.continueEncoding(),
  headers: (s) => s.responseHeaders!,
};

interface Run extends LuaRun {
  script: LuaScript;
  thread: LuaState;
  threadRef: number;
}

interface StreamState { request?: Run; response?: Run }

type Outcome = 'done' | 'wait' | 'reply' | 'error';

class LuaFilter implements HttpFilter {
  constructor(
    readonly name: string,
    private readonly defaultScript: LuaScript | undefined,
    private readonly sources: Map<string, LuaScript>,
  ) {}

  decodeHeaders(s: HttpStream): FilterStatus {
    const pick = this.scriptFor(s);
    if (!pick?.script.onRequest) return FilterStatus.Continue;
    const run = this.start(s, pick.script, pick.script.onRequest, false, pick.filterContext, s.headersOnly);
    return this.afterHeaders(s, run, this.resume(run, 1), false);
  }

  encodeHeaders(s: HttpStream): FilterStatus {
    const pick = this.scriptFor(s);
    if (!pick?.script.onResponse) return FilterStatus.Continue;
    const run = this.start(s, pick.script, pick.script.onResponse, true, pick.filterContext, s.responseEnd);
    return this.afterHeaders(s, run, this.resume(run, 1), true);
  }

  decodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    return this.onData(s, this.runOf(s, false), chunk, end, requestSide);
  }

  encodeData(s: HttpStream, chunk: Buffer, end: boolean): Buffer | undefined {
    return this.onData(s, this.runOf(s, true), chunk, end, responseSide);
  }

  decodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    return this.onTrailers(s, this.runOf(s, false), trailers, requestSide);
  }

  encodeTrailers(s: HttpStream, trailers: HeaderList): FilterStatus {
    return this.onTrailers(s, this.runOf(s, true), trailers, responseSide);
  }

  onStreamComplete(s: HttpStream): void {
    const st = s.filterState?.get(this) as StreamState | undefined;
    if (st?.request && !st.request.finished) this.finish(st.request);
    if (st?.response && !st.response.finished) this.finish(st.response);
  }

  /** The script this route runs, if any. */
  private scriptFor(s: HttpStream): { script: LuaScript; filterContext: unknown } | undefined {
    const pr = s.perFilterConfig(this.name)?.config as PerRoute | undefined;
    if (!pr) return this.defaultScript && { script: this.defaultScript, filterContext: undefined };
    if (pr.disabled) return undefined;
    const script = pr.script ?? (pr.name !== undefined ? this.sources.get(pr.name) : this.defaultScript);
    return script && { script, filterContext: pr.filterContext };
  }

  private runOf(s: HttpStream, response: boolean): Run | undefined {
    const st = s.filterState?.get(this) as StreamState | undefined;
    const run = response ? st?.response : st?.request;
    return run && !run.finished ? run : undefined;
  }

  private start(s: HttpStream, script: LuaScript, fn: number, response: boolean, filterContext: unknown, ended: boolean): Run {
    const co = script.newCoroutine(fn);
    const run: Run = {
      s, response, filterName: this.name, filterContext, wait: Wait.None, chunks: [], ended, trailers: undefined, body: undefined,
      headersContinued: false, reply: undefined, call: undefined, finished: false, script, thread: co.thread, threadRef: co.ref,
    };
    pushHandle(co.thread, run);
    return run;
  }

  /** Runs the coroutine until it finishes, fails, replies or waits. */
  private resume(run: Run, nargs: number): Outcome {
    const { lua } = fengari();
    run.wait = Wait.None;
    run.script.budget = INSTRUCTION_BUDGET;
    let status: number;
    let message = '';
    try {
      status = lua.lua_resume(run.thread, null, nargs);
    } catch (e) {
      status = -1;
      message = e instanceof Error ? e.message : String(e);
    }
    if (status === lua.LUA_YIELD) {
      if (run.reply) { this.finish(run); return 'reply'; }
      if ((run.wait as Wait) === Wait.Call) this.awaitCall(run);
      return 'wait';
    }
    if (status !== lua.LUA_OK) {
      if (!message) message = lua.lua_tojsstring(run.thread, -1);
      this.finish(run, false);
      scriptLog(4, this.name, `script log: ${message}`);
      return 'error';
    }
    this.finish(run, true);
    return 'done';
  }

  /** The coroutine resumes with the answer of its httpCall (not inside any stream hook). */
  private awaitCall(run: Run): void {
    const call = run.call!;
    void call.result.then((r) => {
      if (run.finished || run.call !== call) return;
      run.call = undefined;
      pushCallResult(run.thread, r);
      const outcome = this.resume(run, 2);
      if (outcome === 'wait') return; // a body or another call: the stream's hooks or the next answer resume it
      this.settle(run.s, run, outcome, run.response ? responseSide : requestSide);
    });
  }

  /** The run is over; `returned`: its coroutine returned normally (and may serve another run). */
  private finish(run: Run, returned = false): void {
    if (run.finished) return;
    run.finished = true;
    run.call?.cancel();
    run.call = undefined;
    run.script.release({ thread: run.thread, ref: run.threadRef }, returned);
  }

  private state(s: HttpStream): StreamState {
    const m = (s.filterState ??= new Map());
    let st = m.get(this) as StreamState | undefined;
    if (!st) { st = {}; m.set(this, st); }
    return st;
  }

  private afterHeaders(s: HttpStream, run: Run, outcome: Outcome, response: boolean): FilterStatus {
    switch (outcome) {
      case 'done': return FilterStatus.Continue;
      case 'reply': this.reply(s, run); return FilterStatus.Stop;
      case 'error': return FilterStatus.Continue;
      case 'wait': {
        const st = this.state(s);
        if (response) st.response = run; else st.request = run;
        s.addDataFilter(this);
        s.watchCompletion(this);
        return FilterStatus.Stop;
      }
    }
  }

  private onData(s: HttpStream, run: Run | undefined, chunk: Buffer, end: boolean, side: Side): Buffer | undefined {
    if (!run) return chunk;
    if (end) run.ended = true;
    if (run.wait === Wait.Chunk) return this.feedChunk(s, run, chunk, end, side);
    if (chunk.length) run.chunks.push(chunk);
    if (this.overLimit(s, run)) return undefined;
    if (!end || run.wait === Wait.Call) return undefined;
    pushBodyResult(run.thread, run);
    this.settle(s, run, this.resume(run, 1), side);
    return undefined;
  }

  private onTrailers(s: HttpStream, run: Run | undefined, trailers: HeaderList, side: Side): FilterStatus {
    if (!run) return FilterStatus.Continue;
    run.ended = true;
    run.trailers = trailers;
    if (run.wait === Wait.Chunk) {
      fengari().lua.lua_pushnil(run.thread);
      const outcome = this.resume(run, 1);
      if (outcome !== 'done' || !run.headersContinued) { this.settle(s, run, outcome, side); return FilterStatus.Stop; }
      return FilterStatus.Continue;
    }
    if (run.wait === Wait.Call) return FilterStatus.Stop;
    pushBodyResult(run.thread, run);
    this.settle(s, run, this.resume(run, 1), side);
    return FilterStatus.Stop;
  }

  /** A held body past the connection's buffer limit ends the stream as Envoy's buffering does. */
  private overLimit(s: HttpStream, run: Run): boolean {
    let size = 0;
    for (const c of run.chunks) size += c.length;
    if (size <= s.ctx.bufferLimit) return false;
    this.finish(run);
    if (run.response) s.sendLocalReply(500, '', 'response_payload_too_large');
    else s.sendLocalReply(413, 'Payload Too Large', 'request_payload_too_large');
    return true;
  }

  /** One chunk for a script iterating bodyChunks(): it goes on once the script has seen it. */
  private feedChunk(s: HttpStream, run: Run, chunk: Buffer, end: boolean, side: Side): Buffer | undefined {
    if (!chunk.length && !end) return chunk;
    const piece: BodyBuffer = { bytes: chunk };
    if (chunk.length) pushBuffer(run.thread, piece); else fengari().lua.lua_pushnil(run.thread);
    const outcome = this.resume(run, 1);
    if (outcome === 'reply') { this.settle(s, run, outcome, side); return undefined; }
    if (run.headersContinued) return piece.bytes;
    if (outcome === 'error') { run.chunks.push(piece.bytes); this.settle(s, run, outcome, side); return undefined; }
    if (outcome === 'wait' && run.wait === Wait.Chunk) {
      // The script streams: the headers go on now, each chunk after the script has seen it.
      run.headersContinued = true;
      side.resume(s);
      return piece.bytes;
    }
    // Done (or waiting for the rest): what it saw is held with the rest until the end.
    run.chunks.push(piece.bytes);
    if (outcome === 'done') this.settle(s, run, outcome, side);
    return undefined;
  }

  /** The script is out of the VM after the end of the body: send what it decided. */
  private settle(s: HttpStream, run: Run, outcome: Outcome, side: Side): void {
    if (outcome === 'reply') { this.reply(s, run); return; }
    if (outcome === 'wait' && (run.wait === Wait.Call || !run.ended)) return;
    if (outcome === 'wait') {
      // Nothing more will come for this direction: the script can never finish.
      this.finish(run);
      scriptLog(4, this.name, 'script log: the script waits for more after the end of the stream');
    }
    // Done, or failed ('error', logged where it happened): what the script left goes on.
    if (run.headersContinued) {
      if (run.chunks.length || run.ended) side.inject(s, this, heldBody(run), !run.trailers);
      if (run.trailers) side.injectTrailers(s, this, run.trailers);
      return;
    }
    const body = run.body ? run.body.bytes : heldBody(run);
    const headers = side.headers(s);
    // A script that rewrote the body changes its length; framing follows.
    if (run.body && getHeader(headers, 'content-length') !== undefined) {
      setHeader(headers, 'content-length', String(body.length));
      if (!run.response) s.bodyLength = body.length;
    }
    // The end went by with the headers (no body), or has not come yet (more flows after this).
    const endedWithHeaders = run.response ? s.responseEnd : s.headersOnly;
    const end = run.ended && !run.trailers;
    if (body.length || (end && !endedWithHeaders)) side.inject(s, this, body, end);
    if (run.trailers) side.injectTrailers(s, this, run.trailers);
    side.resume(s);
  }

  private reply(s: HttpStream, run: Run): void {
    const r = run.reply!;
    s.sendResponse(r.status, r.headers, r.body, 'lua_response');
  }

}

function createLua(name: string, c: Json, path: string, readFile: (p: string) => Buffer): LuaFilter {
  const inline = field(c, 'inlineCode');
  let defaultScript: LuaScript | undefined;
  if (typeof inline === 'string' && inline) defaultScript = loadScript(inline, name, at(path, 'inlineCode'));
  const dflt = dataSource(c, 'defaultSourceCode', path, readFile);
  if (dflt) {
    if (defaultScript) throw new ConfigError(at(path, 'defaultSourceCode'), 'only one of inline_code and default_source_code may be set');
    defaultScript = loadScript(dflt.toString('utf8'), name, at(path, 'defaultSourceCode'));
  }
  const sources = new Map<string, LuaScript>();
  const sc = obj(c, 'sourceCodes', path);
  for (const [key, ds] of Object.entries(sc ?? {})) {
    const p = at(at(path, 'sourceCodes'), key);
    const code = dataSource({ s: ds }, 's', p, readFile);
    sources.set(key, loadScript(code?.toString('utf8') ?? '', `${name}:${key}`, p));
  }
  return new LuaFilter(name, defaultScript, sources);
}

registerHttpFilter({
  configType: LUA,
  create: (name, c, path, ctx) => createLua(name, c, path, ctx.readFile),
  perRoute: { [LUA_PER_ROUTE]: compilePerRoute },
});
