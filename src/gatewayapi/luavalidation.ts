// Lua scripts of EnvoyExtensionPolicies are checked before they reach Envoy, as Envoy Gateway
// checks them (EnvoyProxy spec.lua.validationType, or the deprecated spec.luaValidation):
// - Strict (the default): the script must define envoy_on_request or envoy_on_response; each one
//   it defines is run once, in a Lua VM, against a stand-in of Envoy's stream handle API — so a
//   call to an API Envoy does not have, or a runtime error on the way, rejects the script;
// - InsecureSyntax: the same, compiled but not run;
// - Disabled: no check.
// The VM is sandboxed: no io, os, package or debug library, no loading of files, a bounded number
// of instructions, bounded string building. Results are kept by script, so a script seen again
// (the next translation) is not run again.
import { createRequire } from 'node:module';
import { luajitCompat } from '../lua/luajit_compat.js';
import type { LuaState } from 'fengari';

/** fengari, loaded on first use: most translations have no Lua, and loading it takes ~70 ms. */
let fengari: typeof import('fengari') | undefined;
function vm(): typeof import('fengari') {
  return (fengari ??= createRequire(import.meta.url)('fengari') as typeof import('fengari'));
}

export type LuaValidationType = 'Strict' | 'InsecureSyntax' | 'Disabled';

const entryPoints = ['envoy_on_request', 'envoy_on_response'] as const;

/** Instructions a validation may run before it is stopped (a loop that never ends). */
const instructionBudget = 1_000_000;
/** How often the budget is checked, in instructions. */
const hookEvery = 1000;

/**
 * Envoy's Lua stream handle API, as objects whose methods answer like a request with empty header
 * values, an empty body and no metadata. Only what Envoy documents is there: anything else is nil.
 */
const mockAPI = `
local function object(methods)
  local o = {}
  for k, v in pairs(methods) do o[k] = v end
  return o
end
local function iterable(methods)
  return setmetatable(object(methods), { __pairs = function() return function() return nil end, nil, nil end })
end
local function none() return nil end
local function noop() end
-- Header values read as empty strings: scripts commonly work on a value they expect (a :path).
local function empty() return "" end
local headers = iterable({
  add = noop, get = empty, getAtIndex = empty, getNumValues = function() return 1 end,
  remove = noop, replace = noop, setHttp1ReasonPhrase = noop,
})
local buffer = object({ length = function() return 0 end, getBytes = function() return "" end, setBytes = noop })
local metadata = iterable({ get = none })
local dynamicMetadata = iterable({ get = function() return {} end, set = noop })
local filterState = object({ get = none })
local ssl = object({
  peerCertificatePresented = function() return false end, peerCertificateValidated = function() return false end,
  uriSanLocalCertificate = function() return {} end, sha256PeerCertificateDigest = function() return "" end,
  serialNumberPeerCertificate = function() return "" end, issuerPeerCertificate = function() return "" end,
  subjectPeerCertificate = function() return "" end, uriSanPeerCertificate = function() return {} end,
  subjectLocalCertificate = function() return "" end, dnsSansPeerCertificate = function() return {} end,
  dnsSansLocalCertificate = function() return {} end, oidsPeerCertificate = function() return {} end,
  oidsLocalCertificate = function() return {} end, validFromPeerCertificate = function() return 0 end,
  expirationPeerCertificate = function() return 0 end, sessionId = function() return "" end,
  ciphersuiteId = function() return "" end, ciphersuiteString = function() return "" end,
  tlsVersion = function() return "" end, urlEncodedPemEncodedPeerCertificate = function() return "" end,
  urlEncodedPemEncodedPeerCertificateChain = function() return "" end,
})
local address = function() return "127.0.0.1:0" end
local streamInfo = object({
  protocol = function() return "HTTP/1.1" end, routeName = function() return "" end,
  virtualClusterName = function() return "" end, requestedServerName = function() return "" end,
  downstreamDirectLocalAddress = address, downstreamDirectRemoteAddress = address,
  downstreamLocalAddress = address, downstreamRemoteAddress = address,
  dynamicMetadata = function() return dynamicMetadata end, filterState = function() return filterState end,
  downstreamSslConnection = function() return ssl end,
})
local connection = object({ ssl = function() return ssl end })
local withMetadata = object({ metadata = function() return metadata end })
__stream_handle = object({
  headers = function() return headers end, body = function() return buffer end,
  bodyChunks = function() return function() return nil end end, trailers = function() return headers end,
  metadata = function() return metadata end, streamInfo = function() return streamInfo end,
  connection = function() return connection end, connectionStreamInfo = function() return streamInfo end,
  logTrace = noop, logDebug = noop, logInfo = noop, logWarn = noop, logErr = noop, logCritical = noop,
  httpCall = function() return { [":status"] = "200" }, "" end, respond = noop,
  importPublicKey = function() return {} end, verifySignature = function() return true, nil end,
  base64Escape = function() return "" end, timestamp = function() return 0 end,
  timestampString = function() return "0" end, setUpstreamOverrideHost = noop, clearRouteCache = noop,
  filterContext = function() return {} end, virtualHost = function() return withMetadata end,
  route = function() return withMetadata end,
})
print = noop
${luajitCompat(1_048_576)}`;

const cache = new Map<string, string | undefined>();
const cacheLimit = 512;

/** Why a script fails validation, or undefined when it passes. */
export function validateLua(code: string, type: LuaValidationType = 'Strict'): string | undefined {
  if (type === 'Disabled') return undefined;
  const key = `${type}\0${code}`;
  if (cache.has(key)) return cache.get(key);
  const result = validate(code, type);
  if (cache.size >= cacheLimit) cache.delete(cache.keys().next().value!);
  cache.set(key, result);
  return result;
}

function validate(code: string, type: Exclude<LuaValidationType, 'Disabled'>): string | undefined {
  const defined = entryPoints.filter((name) => new RegExp(`\\b${name}\\b`).test(code));
  if (defined.length === 0) return 'expected one of envoy_on_request() or envoy_on_response() to be defined';
  for (const name of defined) {
    // The script, then a call of the entry point with the stream handle (run in Strict mode).
    const chunk = `${code}\n${name}(__stream_handle)`;
    const err = type === 'Strict' ? run(chunk) : compile(chunk);
    if (err !== undefined) return `failed to validate with ${name}: ${err}`;
  }
  return undefined;
}

function compile(chunk: string): string | undefined {
  const { lauxlib, lua, to_luastring } = vm();
  const chunkName = to_luastring('=<string>');
  const L = lauxlib.luaL_newstate();
  try {
    const s = to_luastring(chunk);
    if (lauxlib.luaL_loadbufferx(L, s, s.length, chunkName, to_luastring('t')) !== lua.LUA_OK) return lua.lua_tojsstring(L, -1);
    return undefined;
  } finally {
    lua.lua_close(L);
  }
}

function run(chunk: string): string | undefined {
  const { lauxlib, lua, to_luastring } = vm();
  const chunkName = to_luastring('=<string>');
  const L = sandbox();
  try {
    const mock = to_luastring(mockAPI);
    if (lauxlib.luaL_loadbufferx(L, mock, mock.length, to_luastring('=mock'), to_luastring('t')) !== lua.LUA_OK || lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) {
      throw new Error(`the Lua stand-in API does not load: ${lua.lua_tojsstring(L, -1)}`);
    }
    const s = to_luastring(chunk);
    if (lauxlib.luaL_loadbufferx(L, s, s.length, chunkName, to_luastring('t')) !== lua.LUA_OK) return lua.lua_tojsstring(L, -1);
    let budget = instructionBudget;
    lua.lua_sethook(
      L,
      (state) => {
        budget -= hookEvery;
        if (budget <= 0) lauxlib.luaL_error(state, to_luastring('the script runs too long'));
      },
      lua.LUA_MASKCOUNT,
      hookEvery,
    );
    if (lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) return lua.lua_tojsstring(L, -1);
    return undefined;
  } finally {
    lua.lua_close(L);
  }
}

/** A state with the libraries a script may use, nothing that reaches outside the VM. */
function sandbox(): LuaState {
  const { lauxlib, lua, lualib, to_luastring } = vm();
  const L = lauxlib.luaL_newstate();
  const open: [string, (L: LuaState) => number][] = [
    ['_G', lualib.luaopen_base],
    ['coroutine', lualib.luaopen_coroutine],
    ['table', lualib.luaopen_table],
    ['string', lualib.luaopen_string],
    ['utf8', lualib.luaopen_utf8],
    ['math', lualib.luaopen_math],
  ];
  for (const [name, f] of open) {
    lauxlib.luaL_requiref(L, to_luastring(name), f, 1);
    lua.lua_pop(L, 1);
  }
  // Base functions that read files (print is replaced by a no-op in the stand-in API).
  for (const name of ['dofile', 'loadfile']) {
    lua.lua_pushnil(L);
    lua.lua_setglobal(L, to_luastring(name));
  }
  return L;
}
