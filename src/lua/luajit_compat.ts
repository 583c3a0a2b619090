// Envoy runs Lua scripts on LuaJIT (Lua 5.1); we run them on fengari (Lua 5.3). This chunk gives
// scripts the 5.1 names they use and LuaJIT's `bit` library, and bounds `string.rep` so a script
// cannot build a runaway string. Shared by the Gateway API translator's script validation and
// the proxy's Lua filter, so that what validates is what runs.

/** The compatibility chunk; `maxRepBytes` bounds one `string.rep` result. */
export function luajitCompat(maxRepBytes: number): string {
  return `
unpack = unpack or table.unpack
loadstring = loadstring or function(s, name) return load(s, name, "t") end
math.pow = math.pow or function(x, y) return x ^ y end
table.getn = table.getn or function(t) return #t end
local function int32(x) x = math.tointeger(x) or math.floor(x); x = x & 0xffffffff; if x >= 0x80000000 then x = x - 0x100000000 end; return x end
bit = {
  tobit = int32,
  band = function(a, ...) for _, b in ipairs({...}) do a = a & b end return int32(a) end,
  bor = function(a, ...) for _, b in ipairs({...}) do a = a | b end return int32(a) end,
  bxor = function(a, ...) for _, b in ipairs({...}) do a = a ~ b end return int32(a) end,
  bnot = function(a) return int32(~a) end,
  lshift = function(a, n) return int32(a << (n & 31)) end,
  rshift = function(a, n) return int32((int32(a) & 0xffffffff) >> (n & 31)) end,
  arshift = function(a, n) return int32(int32(a) >> (n & 31) | (int32(a) < 0 and ~(0xffffffff >> (n & 31)) or 0)) end,
  tohex = function(a, n) return string.format("%0" .. (n or 8) .. "x", int32(a) & 0xffffffff) end,
}
local rep = string.rep
string.rep = function(s, n, sep)
  if #s * n > ${maxRepBytes} then error("string.rep: result too large", 2) end
  return rep(s, n, sep)
end
`;
}
