// Envoy's Lua stream handle API: the objects envoy_on_request(handle) and
// envoy_on_response(handle) work with. Each kind of object is a userdata whose metatable is made
// once per Lua state (install), so a request allocates one small userdata per object it asks for
// and no closures. Calls that must wait (body, bodyChunks, trailers) yield the coroutine; the
// filter resumes it with the result when the stream has it. respond() records the reply and
// yields for good: the filter sends it once the script is out of the VM.
import { createHash, createPublicKey, verify, X509Certificate, type KeyObject } from 'node:crypto';
import { callCluster, type AsyncCall, type CallResult } from '../../async_client.js';
import { addHeader, removeHeader, setHeader, validHeaderName, validHeaderValue, type HeaderList } from '../../headers.js';
import type { HttpStream } from '../../stream.js';
import { getPseudo, setPseudo, withPseudo } from '../stream_headers.js';
import { checkText, fengari, lstr, pushBytes, pushText, pushValue, raise, toValue, type LuaState } from './vm.js';

export const enum Wait { None = 0, Body = 1, Chunk = 2, Trailers = 3, Call = 4 }

/** A body the script holds: the whole body (body()) or one chunk (bodyChunks()). */
export interface BodyBuffer { bytes: Buffer; }

/** One run of envoy_on_request or envoy_on_response on one stream. */
export interface LuaRun {
  readonly s: HttpStream;
  readonly response: boolean;
  /** The filter's instance name: route metadata is read under it. */
  readonly filterName: string;
  readonly filterContext: unknown;
  /** What the coroutine waits for. */
  wait: Wait;
  /** Body received and held while the script has not finished. */
  chunks: Buffer[];
  /** The end of this direction of the stream has been seen (or came with the headers). */
  ended: boolean;
  trailers: HeaderList | undefined;
  /** Set once body() returned the buffer: it replaces the held chunks. */
  body: BodyBuffer | undefined;
  /** Headers were passed on while the script streams chunks (bodyChunks). */
  headersContinued: boolean;
  reply: { status: number; headers: HeaderList; body: Buffer | undefined } | undefined;
  /** httpCall() in flight (the coroutine waits for it). */
  call: AsyncCall | undefined;
  finished: boolean;
}

const HANDLE = 'egts.lua.stream_handle';
const HEADERS = 'egts.lua.header_map';
const BUFFER = 'egts.lua.buffer';
const METADATA = 'egts.lua.metadata';
const DYNAMIC = 'egts.lua.dynamic_metadata';
const STREAM_INFO = 'egts.lua.stream_info';
const CONNECTION = 'egts.lua.connection';
const SSL = 'egts.lua.ssl_connection';

const PUBLIC_KEY = 'egts.lua.public_key';
const ROUTE = 'egts.lua.route';
/** importPublicKey's result: a DER SubjectPublicKeyInfo that did not parse verifies nothing. */
interface PublicKeyRef { key: KeyObject | undefined }
const HASHES: Record<string, string> = { SHA1: 'sha1', SHA224: 'sha224', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' };

interface HeadersRef { run: LuaRun; list: HeaderList; pseudo: boolean }

function live(L: LuaState, run: LuaRun): LuaRun {
  if (run.finished) raise(L, 'object used outside of its stream callback');
  return run;
}

// Each kind's metatable also sits at a fixed integer slot of the registry (after Lua's own two),
// so making and checking an object costs no string lookups; the userdata carries its kind.
const KINDS = [HANDLE, HEADERS, BUFFER, METADATA, DYNAMIC, STREAM_INFO, CONNECTION, SSL, PUBLIC_KEY, ROUTE];
const FIRST_SLOT = 3;
const SLOT = new Map(KINDS.map((k, i) => [k, FIRST_SLOT + i]));

function self<T>(L: LuaState, type: string, arg = 1): T {
  const ud = fengari().lua.lua_touserdata(L, arg);
  if (!ud || typeof ud !== 'object' || ud.t !== type) raise(L, `bad argument #${arg} (${type} expected)`);
  return ud.v as T;
}

function pushObject(L: LuaState, type: string, v: unknown): void {
  const { lua } = fengari();
  const ud = lua.lua_newuserdata(L, 0);
  ud.v = v;
  ud.t = type;
  lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, SLOT.get(type)!);
  lua.lua_setmetatable(L, -2);
}

export function pushHandle(L: LuaState, run: LuaRun): void { pushObject(L, HANDLE, run); }
export function pushBuffer(L: LuaState, b: BodyBuffer): void { pushObject(L, BUFFER, b); }
export function pushHeaders(L: LuaState, run: LuaRun, list: HeaderList, pseudo: boolean): void {
  pushObject(L, HEADERS, { run, list, pseudo } satisfies HeadersRef);
}

/** The held body as one buffer. */
export function heldBody(run: LuaRun): Buffer {
  return run.chunks.length === 1 ? run.chunks[0]! : Buffer.concat(run.chunks);
}

// --- header maps: pseudo-headers live on the stream, the rest in its header list ---

function pseudoGet(run: LuaRun, name: string): string | undefined {
  return getPseudo(run.s, run.response, name);
}

function pseudoSet(L: LuaState, run: LuaRun, name: string, value: string): void {
  const why = setPseudo(run.s, run.response, name, value);
  if (why) raise(L, why);
}

function headerName(L: LuaState, arg: number): string {
  const name = checkText(L, arg).toLowerCase();
  if (!name.startsWith(':') && !validHeaderName(name)) raise(L, `invalid header name ${JSON.stringify(name)}`);
  return name;
}

function headerValue(L: LuaState, arg: number): string {
  const v = checkText(L, arg);
  if (!validHeaderValue(v)) raise(L, 'header values may not contain CR, LF or NUL');
  return v;
}

const headerMethods: Record<string, (L: LuaState) => number> = {
  get(L) {
    const h = self<HeadersRef>(L, HEADERS); live(L, h.run);
    const name = headerName(L, 2);
    let v: string | undefined;
    if (name.startsWith(':')) v = h.pseudo ? pseudoGet(h.run, name) : undefined;
    else for (let i = 0; i < h.list.length; i += 2) if (h.list[i] === name) v = v === undefined ? h.list[i + 1] : `${v},${h.list[i + 1]}`;
    if (v === undefined) fengari().lua.lua_pushnil(L); else pushText(L, v);
    return 1;
  },
  getAtIndex(L) {
    const h = self<HeadersRef>(L, HEADERS); live(L, h.run);
    const name = headerName(L, 2);
    let index = fengari().lauxlib.luaL_checkinteger(L, 3);
    if (name.startsWith(':')) {
      const v = h.pseudo && index === 0 ? pseudoGet(h.run, name) : undefined;
      if (v === undefined) fengari().lua.lua_pushnil(L); else pushText(L, v);
      return 1;
    }
    for (let i = 0; i < h.list.length; i += 2) {
      if (h.list[i] === name && index-- === 0) { pushText(L, h.list[i + 1]!); return 1; }
    }
    fengari().lua.lua_pushnil(L);
    return 1;
  },
  getNumValues(L) {
    const h = self<HeadersRef>(L, HEADERS); live(L, h.run);
    const name = headerName(L, 2);
    let n = 0;
    if (name.startsWith(':')) n = h.pseudo && pseudoGet(h.run, name) !== undefined ? 1 : 0;
    else for (let i = 0; i < h.list.length; i += 2) if (h.list[i] === name) n++;
    fengari().lua.lua_pushinteger(L, n);
    return 1;
  },
  add(L) {
    const h = self<HeadersRef>(L, HEADERS); live(L, h.run);
    const name = headerName(L, 2);
    const value = headerValue(L, 3);
    if (name.startsWith(':')) { if (h.pseudo) pseudoSet(L, h.run, name, value); else raise(L, `invalid header name ${name}`); }
    else addHeader(h.list, name, value);
    return 0;
  },
  replace(L) {
    const h = self<HeadersRef>(L, HEADERS); live(L, h.run);
    const name = headerName(L, 2);
    const value = headerValue(L, 3);
    if (name.startsWith(':')) { if (h.pseudo) pseudoSet(L, h.run, name, value); else raise(L, `invalid header name ${name}`); }
    else setHeader(h.list, name, value);
    return 0;
  },
  remove(L) {
    const h = self<HeadersRef>(L, HEADERS); live(L, h.run);
    const name = headerName(L, 2);
    if (!name.startsWith(':')) removeHeader(h.list, name);
    return 0;
  },
  /** HTTP/1 reason phrases are not kept by this proxy's codec: accepted and ignored. */
  setHttp1ReasonPhrase(L) { live(L, self<HeadersRef>(L, HEADERS).run); return 0; },
};

/** for k, v in pairs(headers): pseudo-headers first, then the list in order (repeats included). */
function headerPairs(L: LuaState): number {
  const { lua } = fengari();
  const h = self<HeadersRef>(L, HEADERS); live(L, h.run);
  const entries = h.pseudo ? withPseudo(h.run.s, h.run.response, h.list) : h.list.slice();
  let i = 0;
  lua.lua_pushjsfunction(L, (L1) => {
    if (i >= entries.length) { lua.lua_pushnil(L1); return 1; }
    pushText(L1, entries[i]!); pushText(L1, entries[i + 1]!);
    i += 2;
    return 2;
  });
  return 1;
}

// --- buffers ---

const bufferMethods: Record<string, (L: LuaState) => number> = {
  length(L) { fengari().lua.lua_pushinteger(L, self<BodyBuffer>(L, BUFFER).bytes.length); return 1; },
  getBytes(L) {
    const { lauxlib } = fengari();
    const b = self<BodyBuffer>(L, BUFFER).bytes;
    const index = lauxlib.luaL_optinteger(L, 2, 0);
    const length = lauxlib.luaL_optinteger(L, 3, b.length - index);
    if (index < 0 || length < 0 || index + length > b.length) raise(L, 'index/length must be inside the buffer');
    pushBytes(L, b.subarray(index, index + length));
    return 1;
  },
  setBytes(L) {
    const b = self<BodyBuffer>(L, BUFFER);
    b.bytes = Buffer.from(fengari().lauxlib.luaL_checklstring(L, 2));
    fengari().lua.lua_pushinteger(L, b.bytes.length);
    return 1;
  },
};

// --- metadata ---

/** A read-only view of a metadata struct: get(key), pairs. */
const metadataMethods: Record<string, (L: LuaState) => number> = {
  get(L) {
    const m = self<Record<string, unknown>>(L, METADATA);
    pushValue(L, m[checkText(L, 2)]);
    return 1;
  },
};

function pairsOver(L: LuaState, m: Record<string, unknown>): number {
  const { lua } = fengari();
  const keys = Object.keys(m);
  let i = 0;
  lua.lua_pushjsfunction(L, (L1) => {
    if (i >= keys.length) { lua.lua_pushnil(L1); return 1; }
    const k = keys[i++]!;
    pushValue(L1, k); pushValue(L1, m[k]);
    return 2;
  });
  return 1;
}

const dynamicMethods: Record<string, (L: LuaState) => number> = {
  get(L) {
    const s = self<HttpStream>(L, DYNAMIC);
    pushValue(L, s.dynamicMetadata?.[checkText(L, 2)]);
    return 1;
  },
  set(L) {
    const s = self<HttpStream>(L, DYNAMIC);
    const ns = checkText(L, 2);
    const key = checkText(L, 3);
    s.setMetadata(ns, key, toValue(L, 4));
    return 0;
  },
};

// --- stream info, connection, TLS ---

const hostPort = (addr: string, port: number) => (addr.includes(':') && !addr.startsWith('[') ? `[${addr}]:${port}` : `${addr}:${port}`);

const streamInfoMethods: Record<string, (L: LuaState) => number> = {
  protocol(L) { pushText(L, live(L, self<LuaRun>(L, STREAM_INFO)).s.protocol); return 1; },
  routeName(L) { pushText(L, live(L, self<LuaRun>(L, STREAM_INFO)).s.routeName); return 1; },
  requestedServerName(L) { pushText(L, live(L, self<LuaRun>(L, STREAM_INFO)).s.downstream.serverName ?? ''); return 1; },
  downstreamLocalAddress(L) { const d = live(L, self<LuaRun>(L, STREAM_INFO)).s.downstream; pushText(L, hostPort(d.localAddress, d.localPort)); return 1; },
  downstreamDirectLocalAddress(L) { const d = live(L, self<LuaRun>(L, STREAM_INFO)).s.downstream; pushText(L, hostPort(d.localAddress, d.localPort)); return 1; },
  downstreamRemoteAddress(L) { const d = live(L, self<LuaRun>(L, STREAM_INFO)).s.downstream; pushText(L, hostPort(d.remoteAddress, d.remotePort)); return 1; },
  downstreamDirectRemoteAddress(L) { const d = live(L, self<LuaRun>(L, STREAM_INFO)).s.downstream; pushText(L, hostPort(d.remoteAddress, d.remotePort)); return 1; },
  dynamicMetadata(L) { pushObject(L, DYNAMIC, live(L, self<LuaRun>(L, STREAM_INFO)).s); return 1; },
  // This proxy has no virtual clusters and exposes no filter state objects.
  virtualClusterName(L) { live(L, self<LuaRun>(L, STREAM_INFO)); pushText(L, ''); return 1; },
  filterState(L) { live(L, self<LuaRun>(L, STREAM_INFO)); pushObject(L, METADATA, {}); return 1; },
  downstreamSslConnection(L) { return pushSsl(L, live(L, self<LuaRun>(L, STREAM_INFO)).s); },
};

function pushSsl(L: LuaState, s: HttpStream): number {
  if (!s.downstream.tls) { fengari().lua.lua_pushnil(L); return 1; }
  pushObject(L, SSL, s);
  return 1;
}

function pushStrings(L: LuaState, xs: readonly string[]): number {
  pushValue(L, xs);
  return 1;
}

const sslMethods: Record<string, (L: LuaState) => number> = {
  peerCertificatePresented(L) { fengari().lua.lua_pushboolean(L, self<HttpStream>(L, SSL).downstream.peerCertificate !== undefined); return 1; },
  // A presented certificate reached the stream only if the TLS layer accepted it.
  peerCertificateValidated(L) { fengari().lua.lua_pushboolean(L, self<HttpStream>(L, SSL).downstream.peerCertificate !== undefined); return 1; },
  subjectPeerCertificate(L) { pushText(L, self<HttpStream>(L, SSL).downstream.peerCertificate?.subject ?? ''); return 1; },
  uriSanPeerCertificate(L) { return pushStrings(L, self<HttpStream>(L, SSL).downstream.peerCertificate?.uriSans ?? []); },
  dnsSansPeerCertificate(L) { return pushStrings(L, self<HttpStream>(L, SSL).downstream.peerCertificate?.dnsSans ?? []); },
  serialNumberPeerCertificate(L) { return pushCertField(L, (c) => c.serialNumber.toLowerCase()); },
  issuerPeerCertificate(L) { return pushCertField(L, (c) => c.issuer.split('\n').reverse().join(',')); },
  validFromPeerCertificate(L) { return pushCertTime(L, (c) => c.validFrom); },
  expirationPeerCertificate(L) { return pushCertTime(L, (c) => c.validTo); },
  urlEncodedPemEncodedPeerCertificate(L) { return pushCertField(L, (c) => encodeURIComponent(c.toString())); },
  sha256PeerCertificateDigest(L) {
    const raw = self<HttpStream>(L, SSL).downstream.peerCertificate?.raw;
    pushText(L, raw ? createHash('sha256').update(raw).digest('hex') : '');
    return 1;
  },
};

/** A field of the peer certificate ("" without one, as Envoy answers). */
function pushCertField(L: LuaState, f: (c: X509Certificate) => string): number {
  const raw = self<HttpStream>(L, SSL).downstream.peerCertificate?.raw;
  pushText(L, raw ? f(new X509Certificate(raw)) : '');
  return 1;
}

/** A validity bound of the peer certificate in seconds since the epoch (0 without one). */
function pushCertTime(L: LuaState, f: (c: X509Certificate) => string): number {
  const raw = self<HttpStream>(L, SSL).downstream.peerCertificate?.raw;
  fengari().lua.lua_pushnumber(L, raw ? Math.floor(Date.parse(f(new X509Certificate(raw))) / 1000) : 0);
  return 1;
}

const connectionMethods: Record<string, (L: LuaState) => number> = {
  ssl(L) { return pushSsl(L, live(L, self<LuaRun>(L, CONNECTION)).s); },
};

// --- the stream handle ---

export type ScriptLogger = (level: number, message: string) => void;

function waitFor(L: LuaState, run: LuaRun, w: Wait): number {
  run.wait = w;
  return fengari().lua.lua_yield(L, 0);
}

function handleMethods(log: ScriptLogger): Record<string, (L: LuaState) => number> {
  const { lua } = fengari();
  const logAt = (level: number) => (L: LuaState) => { live(L, self<LuaRun>(L, HANDLE)); log(level, checkText(L, 2)); return 0; };
  return {
    headers(L) {
      const run = live(L, self<LuaRun>(L, HANDLE));
      pushHeaders(L, run, run.response ? run.s.responseHeaders! : run.s.headers, true);
      return 1;
    },
    body(L) {
      const run = live(L, self<LuaRun>(L, HANDLE));
      const alwaysWrap = lua.lua_toboolean(L, 2);
      if (run.body) { pushBuffer(L, run.body); return 1; }
      if (run.headersContinued) raise(L, 'body() cannot be called once the body is being streamed');
      if (!run.ended) return waitFor(L, run, Wait.Body);
      return pushWholeBody(L, run, alwaysWrap);
    },
    bodyChunks(L) {
      const run = live(L, self<LuaRun>(L, HANDLE));
      if (run.body) raise(L, 'bodyChunks() cannot be called once the body was buffered');
      lua.lua_pushjsfunction(L, (L1) => {
        live(L1, run);
        if (run.chunks.length) { pushBuffer(L1, { bytes: run.chunks.shift()! }); return 1; }
        if (run.ended) { lua.lua_pushnil(L1); return 1; }
        return waitFor(L1, run, Wait.Chunk);
      });
      return 1;
    },
    trailers(L) {
      const run = live(L, self<LuaRun>(L, HANDLE));
      if (!run.ended) return waitFor(L, run, Wait.Trailers);
      if (run.trailers) pushHeaders(L, run, run.trailers, false); else lua.lua_pushnil(L);
      return 1;
    },
    metadata(L) {
      const run = live(L, self<LuaRun>(L, HANDLE));
      pushObject(L, METADATA, routeMetadata(run));
      return 1;
    },
    streamInfo(L) { pushObject(L, STREAM_INFO, live(L, self<LuaRun>(L, HANDLE))); return 1; },
    connectionStreamInfo(L) { pushObject(L, STREAM_INFO, live(L, self<LuaRun>(L, HANDLE))); return 1; },
    route(L) { pushObject(L, ROUTE, { run: live(L, self<LuaRun>(L, HANDLE)), vh: false } satisfies ScopeRef); return 1; },
    virtualHost(L) { pushObject(L, ROUTE, { run: live(L, self<LuaRun>(L, HANDLE)), vh: true } satisfies ScopeRef); return 1; },
    connection(L) { pushObject(L, CONNECTION, live(L, self<LuaRun>(L, HANDLE))); return 1; },
    filterContext(L) { pushValue(L, live(L, self<LuaRun>(L, HANDLE)).filterContext ?? {}); return 1; },
    respond(L) {
      const run = live(L, self<LuaRun>(L, HANDLE));
      if (run.response) raise(L, 'respond() may only be called on the request path');
      if (run.headersContinued) raise(L, 'respond() cannot be called once the request headers went on');
      run.reply = replyOf(L);
      run.wait = Wait.None;
      return lua.lua_yield(L, 0);
    },
    httpCall(L) {
      const run = live(L, self<LuaRun>(L, HANDLE));
      return httpCall(L, run);
    },
    importPublicKey(L) {
      live(L, self<LuaRun>(L, HANDLE));
      const der = Buffer.from(fengari().lauxlib.luaL_checklstring(L, 2));
      const n = lua.lua_type(L, 3) === lua.LUA_TNUMBER ? lua.lua_tonumber(L, 3) : der.length;
      let key: KeyObject | undefined;
      try { key = createPublicKey({ key: der.subarray(0, n), format: 'der', type: 'spki' }); } catch { key = undefined; }
      pushObject(L, PUBLIC_KEY, { key } satisfies PublicKeyRef);
      return 1;
    },
    verifySignature(L) {
      live(L, self<LuaRun>(L, HANDLE));
      const { lauxlib } = fengari();
      const hash = checkText(L, 2);
      const pk = self<PublicKeyRef>(L, PUBLIC_KEY, 3);
      const sig = Buffer.from(lauxlib.luaL_checklstring(L, 4));
      const sigLen = lauxlib.luaL_optinteger(L, 5, sig.length);
      const data = Buffer.from(lauxlib.luaL_checklstring(L, 6));
      const dataLen = lauxlib.luaL_optinteger(L, 7, data.length);
      const algorithm = HASHES[hash.toUpperCase()];
      let error: string | undefined;
      if (!algorithm) error = `${hash} is not supported.`;
      else if (!pk.key) error = 'Failed to verify digest. Error code: 0';
      else {
        try {
          if (!verify(algorithm, data.subarray(0, dataLen), pk.key, sig.subarray(0, sigLen))) error = 'Failed to verify digest. Error code: 0';
        } catch { error = 'Failed to verify digest. Error code: 0'; }
      }
      lua.lua_pushboolean(L, error === undefined);
      if (error === undefined) lua.lua_pushnil(L); else pushText(L, error);
      return 2;
    },
    clearRouteCache(L) {
      const run = live(L, self<LuaRun>(L, HANDLE));
      const table = run.s.hcm.routes.table;
      if (!run.response && table) {
        run.s.route = table.route(run.s);
        run.s.routeName = run.s.route?.name ?? '';
      }
      return 0;
    },
    logTrace: logAt(0), logDebug: logAt(1), logInfo: logAt(2), logWarn: logAt(3), logErr: logAt(4), logCritical: logAt(5),
    base64Escape(L) { pushText(L, Buffer.from(fengari().lauxlib.luaL_checklstring(L, 2)).toString('base64')); return 1; },
    timestamp(L) { lua.lua_pushnumber(L, Date.now()); return 1; },
    timestampString(L) {
      const micro = lua.lua_tonumber(L, 2) === 1;
      pushText(L, micro ? String(BigInt(Date.now()) * 1000n + BigInt(Math.floor((performance.now() % 1) * 1000))) : String(Date.now()));
      return 1;
    },
  };
}

/**
 * httpCall(cluster, headers, body, timeout_ms[, asynchronous | {asynchronous = ...}]): a request
 * through the cluster; the coroutine waits for the answer (headers table, body) unless asynchronous.
 */
function httpCall(L: LuaState, run: LuaRun): number {
  const { lua, lauxlib } = fengari();
  const cluster = checkText(L, 2);
  lauxlib.luaL_checktype(L, 3, lua.LUA_TTABLE);
  const table = toValue(L, 3) as Record<string, unknown>;
  const body = lua.lua_type(L, 4) === lua.LUA_TSTRING ? Buffer.from(lua.lua_tolstring(L, 4)!) : undefined;
  const timeoutMs = lauxlib.luaL_checkinteger(L, 5);
  let asynchronous = false;
  if (lua.lua_type(L, 6) === lua.LUA_TBOOLEAN) asynchronous = lua.lua_toboolean(L, 6);
  else if (lua.lua_type(L, 6) === lua.LUA_TTABLE) asynchronous = (toValue(L, 6) as Record<string, unknown>).asynchronous === true;
  const clusters = run.s.ctx.clusters;
  if (!clusters.get(cluster)) raise(L, 'http call cluster invalid. Must be configured');
  let method = '', path = '', authority = '', scheme: string | undefined;
  const headers: HeaderList = [];
  for (const [k, v] of Object.entries(table)) {
    const name = k.toLowerCase();
    for (const x of Array.isArray(v) ? v : [v]) {
      const value = typeof x === 'number' ? String(x) : typeof x === 'string' ? x : raise(L, `header ${name} must be a string`);
      if (name === ':method') method = value;
      else if (name === ':path') path = value;
      else if (name === ':authority') authority = value;
      else if (name === ':scheme') scheme = value;
      else if (name.startsWith(':') || !validHeaderName(name) || !validHeaderValue(value)) raise(L, `invalid header ${JSON.stringify(name)}`);
      else headers.push(name, value);
    }
  }
  if (!method || !path || !authority) raise(L, 'http call headers must include ":path", ":method" and ":authority"');
  const call = callCluster(clusters, cluster, { method, path, authority, scheme, headers, body, timeoutMs: Math.max(0, timeoutMs) });
  if (asynchronous) return 0;
  run.call = call;
  return waitFor(L, run, Wait.Call);
}

/** What the coroutine gets back from httpCall: a headers table and the body (nil when empty). */
export function pushCallResult(L: LuaState, r: CallResult): void {
  const { lua } = fengari();
  // A call that got no answer reads as Envoy's: 503 "upstream failure".
  const status = r.ok ? r.response.status : 503;
  const headers = r.ok ? r.response.headers : [];
  const body = r.ok ? r.response.body : Buffer.from('upstream failure');
  lua.lua_createtable(L, 0, headers.length / 2 + 1);
  pushText(L, String(status)); lua.lua_setfield(L, -2, lstr(':status'));
  for (let i = 0; i < headers.length; i += 2) { pushText(L, headers[i + 1]!); lua.lua_setfield(L, -2, Buffer.from(headers[i]!, 'latin1')); }
  if (body.length) pushBytes(L, body); else lua.lua_pushnil(L);
}

function pushWholeBody(L: LuaState, run: LuaRun, alwaysWrap: boolean): number {
  if (!run.chunks.length && !alwaysWrap) { fengari().lua.lua_pushnil(L); return 1; }
  run.body = { bytes: heldBody(run) };
  run.chunks = [];
  pushBuffer(L, run.body);
  return 1;
}

/** What the coroutine gets back when the wait for the end of the body is over. */
export function pushBodyResult(L: LuaState, run: LuaRun): void {
  if (run.wait === Wait.Body) pushWholeBody(L, run, false);
  else if (run.trailers) pushHeaders(L, run, run.trailers, false);
  else fengari().lua.lua_pushnil(L);
}

/** route() / virtualHost(): objects whose metadata() reads that level's filter metadata. */
interface ScopeRef { run: LuaRun; vh: boolean }
const scopeMethods: Record<string, (L: LuaState) => number> = {
  metadata(L) {
    const r = self<ScopeRef>(L, ROUTE);
    pushObject(L, METADATA, routeMetadata(live(L, r.run), r.vh));
    return 1;
  },
};

function routeMetadata(run: LuaRun, virtualHost = false): Record<string, unknown> {
  const md = virtualHost ? run.s.route?.virtualHost.metadata : run.s.route?.metadata;
  const m = md?.[run.filterName] ?? md?.['envoy.filters.http.lua'];
  return m && typeof m === 'object' ? (m as Record<string, unknown>) : {};
}

/** respond(headers, body): headers is a table of name → value or list of values; :status required. */
function replyOf(L: LuaState): { status: number; headers: HeaderList; body: Buffer | undefined } {
  const { lua, lauxlib } = fengari();
  lauxlib.luaL_checktype(L, 2, lua.LUA_TTABLE);
  const t = toValue(L, 2) as Record<string, unknown>;
  const headers: HeaderList = [];
  let status = 0;
  for (const [k, v] of Object.entries(t)) {
    const name = k.toLowerCase();
    const values = Array.isArray(v) ? v : [v];
    for (const x of values) {
      const value = typeof x === 'number' ? String(x) : typeof x === 'string' ? x : raise(L, `header ${name} must be a string`);
      if (name === ':status') { status = Number(value); continue; }
      if (name.startsWith(':') || !validHeaderName(name)) raise(L, `invalid header name ${JSON.stringify(name)}`);
      if (!validHeaderValue(value)) raise(L, 'header values may not contain CR, LF or NUL');
      headers.push(name, value);
    }
  }
  if (!Number.isInteger(status) || status < 200 || status > 999) raise(L, ':status must be a valid HTTP status');
  let body: Buffer | undefined;
  if (lua.lua_type(L, 3) === lua.LUA_TSTRING) body = Buffer.from(lua.lua_tolstring(L, 3)!);
  return { status, headers, body };
}

/** Creates the metatables of the API's objects in a new state. */
export function installApi(L: LuaState, log: ScriptLogger): void {
  const { lua, lauxlib } = fengari();
  if (lua.lua_rawlen(L, lua.LUA_REGISTRYINDEX) !== FIRST_SLOT - 1) throw new Error('the Lua API must be installed in a fresh state');
  const define = (type: string, methods: Record<string, (L: LuaState) => number>, pairs?: (L: LuaState) => number) => {
    lauxlib.luaL_newmetatable(L, lstr(type));
    lua.lua_pushvalue(L, -1);
    lua.lua_rawseti(L, lua.LUA_REGISTRYINDEX, SLOT.get(type)!);
    lua.lua_createtable(L, 0, Object.keys(methods).length);
    for (const [name, f] of Object.entries(methods)) { lua.lua_pushjsfunction(L, f); lua.lua_setfield(L, -2, lstr(name)); }
    lua.lua_setfield(L, -2, lstr('__index'));
    if (pairs) { lua.lua_pushjsfunction(L, pairs); lua.lua_setfield(L, -2, lstr('__pairs')); }
    lua.lua_pop(L, 1);
  };
  define(HANDLE, handleMethods(log));
  define(HEADERS, headerMethods, headerPairs);
  define(BUFFER, bufferMethods);
  define(METADATA, metadataMethods, (L) => pairsOver(L, self<Record<string, unknown>>(L, METADATA)));
  define(DYNAMIC, dynamicMethods, (L) => pairsOver(L, self<HttpStream>(L, DYNAMIC).dynamicMetadata ?? {}));
  define(STREAM_INFO, streamInfoMethods);
  define(CONNECTION, connectionMethods);
  define(SSL, sslMethods);
  define(PUBLIC_KEY, {});
  define(ROUTE, scopeMethods);
  // timestampString(EnvoyTimestampResolution.MILLISECOND | MICROSECOND)
  pushValue(L, { MILLISECOND: 0, MICROSECOND: 1 });
  lua.lua_setglobal(L, lstr('EnvoyTimestampResolution'));
}
