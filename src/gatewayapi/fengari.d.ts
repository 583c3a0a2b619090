// The parts of fengari (a Lua 5.3 VM in JavaScript) the Lua validation uses. The package ships no
// type declarations; these follow its C-API mirror (lua.h, lauxlib.h, lualib.h).
declare module 'fengari' {
  /** A Lua state (lua_State*). */
  export type LuaState = { readonly __luaState: unique symbol };
  /** A Lua string: the bytes fengari keeps strings as. */
  export type LuaString = Uint8Array;

  export function to_luastring(s: string, cache?: boolean): LuaString;
  export function to_jsstring(s: LuaString, from?: number, to?: number, replacementChar?: boolean): string;

  export const lua: {
    LUA_OK: number;
    LUA_MULTRET: number;
    LUA_MASKCOUNT: number;
    lua_pcall(L: LuaState, nargs: number, nresults: number, msgh: number): number;
    lua_sethook(L: LuaState, hook: ((L: LuaState, ar: unknown) => void) | null, mask: number, count: number): void;
    lua_tojsstring(L: LuaState, idx: number): string;
    lua_pop(L: LuaState, n: number): void;
    lua_pushnil(L: LuaState): void;
    lua_setglobal(L: LuaState, name: LuaString): void;
    lua_close(L: LuaState): void;
  };

  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_requiref(L: LuaState, modname: LuaString, openf: (L: LuaState) => number, glb: number): void;
    luaL_loadbufferx(L: LuaState, buff: LuaString, size: number, name: LuaString, mode: LuaString | null): number;
    luaL_error(L: LuaState, fmt: LuaString, ...args: unknown[]): never;
  };

  export const lualib: {
    luaopen_base(L: LuaState): number;
    luaopen_coroutine(L: LuaState): number;
    luaopen_table(L: LuaState): number;
    luaopen_string(L: LuaState): number;
    luaopen_utf8(L: LuaState): number;
    luaopen_math(L: LuaState): number;
  };
}
