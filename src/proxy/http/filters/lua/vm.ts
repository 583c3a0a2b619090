// The Lua VM the proxy's Lua filter runs scripts in: fengari (Lua 5.3 in JavaScript), loaded on
// first use. One LuaScript is one lua_State with one script loaded: the script's top level runs
// once, when the configuration is compiled; envoy_on_request/envoy_on_response then run as
// coroutines of that state, one per stream and direction, so a script that waits for the body
// simply yields. The state is sandboxed (no io, package, debug, loading of files) and every
// stretch of a script between two waits gets an instruction budget: a loop that never ends is a
// script error, not a stuck worker.
import { createRequire } from 'node:module';
import { luajitCompat } from '../../../../lua/luajit_compat.js';

/** A lua_State (main state or coroutine). */
export type LuaState = { readonly __luaState: unique symbol };
/** Lua strings are byte arrays in fengari. */
type LStr = Uint8Array;
type JsFn = (L: LuaState) => number;

/** The parts of fengari's C-API mirror this filter uses. */
export interface LuaApi {
  LUA_OK: number; LUA_YIELD: number; LUA_REGISTRYINDEX: number; LUA_MASKCOUNT: number;
  LUA_TNIL: number; LUA_TBOOLEAN: number; LUA_TNUMBER: number; LUA_TSTRING: number; LUA_TTABLE: number; LUA_TFUNCTION: number;
  lua_newthread(L: LuaState): LuaState;
  lua_resume(L: LuaState, from: LuaState | null, nargs: number): number;
  lua_yield(L: LuaState, n: number): number;
  lua_sethook(L: LuaState, hook: ((L: LuaState, ar: unknown) => void) | null, mask: number, count: number): void;
  lua_atnativeerror(L: LuaState, f: JsFn): void;
  lua_gettop(L: LuaState): number;
  lua_settop(L: LuaState, n: number): void;
  lua_pop(L: LuaState, n: number): void;
  lua_type(L: LuaState, idx: number): number;
  lua_pushnil(L: LuaState): void;
  lua_pushboolean(L: LuaState, b: boolean): void;
  lua_pushinteger(L: LuaState, n: number): void;
  lua_pushnumber(L: LuaState, n: number): void;
  lua_pushstring(L: LuaState, s: LStr): LStr;
  lua_pushjsfunction(L: LuaState, f: JsFn): void;
  lua_pushjsclosure(L: LuaState, f: JsFn, n: number): void;
  lua_pushvalue(L: LuaState, idx: number): void;
  lua_pushlightuserdata(L: LuaState, p: unknown): void;
  lua_createtable(L: LuaState, narr: number, nrec: number): void;
  lua_newuserdata(L: LuaState, size: number): Record<string, unknown>;
  lua_touserdata(L: LuaState, idx: number): any;
  lua_setfield(L: LuaState, idx: number, k: LStr): void;
  lua_getfield(L: LuaState, idx: number, k: LStr): number;
  lua_getglobal(L: LuaState, name: LStr): number;
  lua_setglobal(L: LuaState, name: LStr): void;
  lua_rawgeti(L: LuaState, idx: number, n: number): number;
  lua_rawseti(L: LuaState, idx: number, n: number): void;
  lua_rawset(L: LuaState, idx: number): void;
  lua_rawlen(L: LuaState, idx: number): number;
  lua_next(L: LuaState, idx: number): number;
  lua_setmetatable(L: LuaState, idx: number): void;
  lua_toboolean(L: LuaState, idx: number): boolean;
  lua_tonumber(L: LuaState, idx: number): number;
  lua_isinteger(L: LuaState, idx: number): boolean;
  lua_tolstring(L: LuaState, idx: number): LStr | null;
  lua_tojsstring(L: LuaState, idx: number): string;
  lua_xmove(from: LuaState, to: LuaState, n: number): void;
  lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
  lua_close(L: LuaState): void;
}

export interface LauxApi {
  luaL_newstate(): LuaState;
  luaL_requiref(L: LuaState, modname: LStr, openf: JsFn, glb: number): void;
  luaL_loadbufferx(L: LuaState, buff: LStr, size: number, name: LStr, mode: LStr | null): number;
  luaL_error(L: LuaState, fmt: LStr, ...args: unknown[]): never;
  luaL_argerror(L: LuaState, arg: number, extramsg: LStr): never;
  luaL_newmetatable(L: LuaState, tname: LStr): number;
  luaL_setmetatable(L: LuaState, tname: LStr): void;
  luaL_checkudata(L: LuaState, arg: number, tname: LStr): any;
  luaL_checklstring(L: LuaState, arg: number): LStr;
  luaL_checkinteger(L: LuaState, arg: number): number;
  luaL_optinteger(L: LuaState, arg: number, def: number): number;
  luaL_checktype(L: LuaState, arg: number, t: number): void;
  luaL_ref(L: LuaState, t: number): number;
  luaL_unref(L: LuaState, t: number, ref: number): void;
  luaL_traceback(L: LuaState, L1: LuaState, msg: LStr | null, level: number): void;
  luaL_tolstring(L: LuaState, idx: number): LStr;
}

interface Fengari {
  lua: LuaApi;
  lauxlib: LauxApi;
  lualib: Record<string, JsFn>;
  to_luastring(s: string, cache?: boolean): LStr;
}

let loaded: Fengari | undefined;
/** fengari, loaded the first time a Lua filter is configured. */
export function fengari(): Fengari {
  return (loaded ??= createRequire(import.meta.url)('fengari') as Fengari);
}

const names = new Map<string, LStr>();
/** A Lua string for a constant name, encoded once. */
export function lstr(s: string): LStr {
  let v = names.get(s);
  if (!v) { v = fengari().to_luastring(s); names.set(s, v); }
  return v;
}

export function pushBytes(L: LuaState, b: Uint8Array): void {
  fengari().lua.lua_pushstring(L, b);
}

/** A JS string as a Lua string (header names and values: latin1 bytes on the wire). */
export function pushText(L: LuaState, s: string): void {
  fengari().lua.lua_pushstring(L, Buffer.from(s, 'latin1'));
}

/** Argument `arg` as text (header names and values). */
export function checkText(L: LuaState, arg: number): string {
  return Buffer.from(fengari().lauxlib.luaL_checklstring(L, arg)).toString('latin1');
}

/** Raises a Lua error with a message (never returns). */
export function raise(L: LuaState, message: string): never {
  const { lauxlib, to_luastring } = fengari();
  return lauxlib.luaL_error(L, to_luastring(message.replace(/%/g, '%%')));
}

/**
 * Instructions a script may run between two waits. fengari runs roughly 15-20 million VM
 * instructions a second, so this bounds one stretch of a script at about a third of a second.
 */
export const INSTRUCTION_BUDGET = 5_000_000;
const HOOK_EVERY = 10_000;

/** Lua 5.1/LuaJIT names Envoy's scripts are written against, and limits on runaway strings (16 MiB). */
const prelude = luajitCompat(16_777_216);

/** A coroutine and its registry reference (which keeps it from being collected). */
export interface Coroutine { thread: LuaState; ref: number }
const IDLE_COROUTINES = 64;

/** Why a script could not be loaded (syntax error, error in its top level). */
export class LuaLoadError extends Error {}

/** One lua_State with one script loaded. */
export class LuaScript {
  readonly L: LuaState;
  /** Registry references of envoy_on_request / envoy_on_response, 0 when not defined. */
  readonly onRequest: number;
  readonly onResponse: number;
  /** Instructions left to the coroutine running now. */
  budget = INSTRUCTION_BUDGET;

  constructor(code: string, chunkName: string, install: (L: LuaState) => void) {
    const { lua, lauxlib, lualib, to_luastring } = fengari();
    const L = (this.L = lauxlib.luaL_newstate());
    for (const [name, open] of [['_G', lualib.luaopen_base], ['coroutine', lualib.luaopen_coroutine], ['table', lualib.luaopen_table],
      ['string', lualib.luaopen_string], ['utf8', lualib.luaopen_utf8], ['math', lualib.luaopen_math], ['os', lualib.luaopen_os]] as const) {
      lauxlib.luaL_requiref(L, lstr(name), open!, 1);
      lua.lua_pop(L, 1);
    }
    // os keeps its clock and date functions only; no file loading from the base library.
    lua.lua_getglobal(L, lstr('os'));
    for (const f of ['execute', 'exit', 'getenv', 'remove', 'rename', 'tmpname', 'setlocale']) { lua.lua_pushnil(L); lua.lua_setfield(L, -2, lstr(f)); }
    lua.lua_pop(L, 1);
    for (const f of ['dofile', 'loadfile']) { lua.lua_pushnil(L); lua.lua_setglobal(L, lstr(f)); }
    // A JavaScript exception inside an API call becomes a Lua error of the script.
    lua.lua_atnativeerror(L, (L1) => {
      const e = lua.lua_touserdata(L1, -1);
      lua.lua_pushstring(L1, to_luastring(e instanceof Error ? e.message : String(e)));
      return 1;
    });
    lua.lua_sethook(L, (L1) => {
      this.budget -= HOOK_EVERY;
      if (this.budget <= 0) raise(L1, `script exceeded ${INSTRUCTION_BUDGET} instructions without waiting`);
    }, lua.LUA_MASKCOUNT, HOOK_EVERY);
    install(L);
    this.budget = INSTRUCTION_BUDGET;
    this.load(prelude, '=prelude');
    this.budget = INSTRUCTION_BUDGET;
    this.load(code, chunkName);
    this.onRequest = this.globalFunction('envoy_on_request');
    this.onResponse = this.globalFunction('envoy_on_response');
  }

  private load(code: string, chunkName: string): void {
    const { lua, lauxlib, to_luastring } = fengari();
    const s = to_luastring(code);
    if (lauxlib.luaL_loadbufferx(this.L, s, s.length, to_luastring(chunkName), lstr('t')) !== lua.LUA_OK || lua.lua_pcall(this.L, 0, 0, 0) !== lua.LUA_OK) {
      const msg = lua.lua_tojsstring(this.L, -1);
      lua.lua_close(this.L);
      throw new LuaLoadError(msg);
    }
  }

  private globalFunction(name: string): number {
    const { lua, lauxlib } = fengari();
    if (lua.lua_getglobal(this.L, lstr(name)) !== lua.LUA_TFUNCTION) { lua.lua_pop(this.L, 1); return 0; }
    return lauxlib.luaL_ref(this.L, lua.LUA_REGISTRYINDEX);
  }

  /** Coroutines that finished cleanly, kept for the next streams (a thread is not cheap in fengari). */
  private readonly idle: Coroutine[] = [];

  /** A coroutine about to call the function `ref` (its arguments are pushed next), not yet started. */
  newCoroutine(ref: number): Coroutine {
    const { lua, lauxlib } = fengari();
    let co = this.idle.pop();
    if (!co) {
      const thread = lua.lua_newthread(this.L);
      co = { thread, ref: lauxlib.luaL_ref(this.L, lua.LUA_REGISTRYINDEX) };
    }
    lua.lua_rawgeti(co.thread, lua.LUA_REGISTRYINDEX, ref);
    return co;
  }

  /** The coroutine is done with: kept for reuse when it returned normally, else let go. */
  release(co: Coroutine, returned: boolean): void {
    const { lua, lauxlib } = fengari();
    if (returned && this.idle.length < IDLE_COROUTINES) {
      lua.lua_settop(co.thread, 0);
      this.idle.push(co);
      return;
    }
    lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, co.ref);
  }
}

// --- values between JavaScript and Lua (metadata, filter context) ---

/** Pushes a JSON-like value: objects and arrays become tables. */
export function pushValue(L: LuaState, v: unknown, depth = 0): void {
  const { lua } = fengari();
  if (v === null || v === undefined || depth > 32) lua.lua_pushnil(L);
  else if (typeof v === 'boolean') lua.lua_pushboolean(L, v);
  else if (typeof v === 'number') { if (Number.isInteger(v) && Math.abs(v) < 2 ** 31) lua.lua_pushinteger(L, v); else lua.lua_pushnumber(L, v); }
  else if (typeof v === 'string') lua.lua_pushstring(L, fengari().to_luastring(v));
  else if (Buffer.isBuffer(v)) lua.lua_pushstring(L, v);
  else if (Array.isArray(v)) {
    lua.lua_createtable(L, v.length, 0);
    for (let i = 0; i < v.length; i++) { pushValue(L, v[i], depth + 1); lua.lua_rawseti(L, -2, i + 1); }
  } else if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    lua.lua_createtable(L, 0, entries.length);
    for (const [k, x] of entries) { pushValue(L, x, depth + 1); lua.lua_setfield(L, -2, fengari().to_luastring(k)); }
  } else lua.lua_pushnil(L);
}

/** The Lua value at idx as a JSON-like value: a table with keys 1..n is an array. */
export function toValue(L: LuaState, idx: number, depth = 0): unknown {
  const { lua } = fengari();
  const t = lua.lua_type(L, idx);
  if (t === lua.LUA_TBOOLEAN) return lua.lua_toboolean(L, idx);
  if (t === lua.LUA_TNUMBER) return lua.lua_tonumber(L, idx);
  if (t === lua.LUA_TSTRING) return Buffer.from(lua.lua_tolstring(L, idx)!).toString('utf8');
  if (t !== lua.LUA_TTABLE || depth > 32) return null;
  const abs = idx < 0 ? lua.lua_gettop(L) + idx + 1 : idx;
  const n = lua.lua_rawlen(L, abs);
  const obj: Record<string, unknown> = {};
  let count = 0;
  lua.lua_pushnil(L);
  while (lua.lua_next(L, abs) !== 0) {
    const kt = lua.lua_type(L, -2);
    const key = kt === lua.LUA_TNUMBER ? String(lua.lua_tonumber(L, -2)) : kt === lua.LUA_TSTRING ? Buffer.from(lua.lua_tolstring(L, -2)!).toString('utf8') : undefined;
    if (key !== undefined) { obj[key] = toValue(L, -1, depth + 1); count++; }
    lua.lua_pop(L, 1);
  }
  if (n > 0 && count === n) return Array.from({ length: n }, (_, i) => obj[String(i + 1)]);
  return obj;
}
