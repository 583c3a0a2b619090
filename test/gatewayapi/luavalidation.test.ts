import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateLua } from '../../src/gatewayapi/luavalidation.js';

test('a script must define envoy_on_request or envoy_on_response', () => {
  assert.match(validateLua('function on_request(h) end') ?? '', /envoy_on_request\(\) or envoy_on_response\(\)/);
  assert.equal(validateLua('function envoy_on_request(h) h:logInfo("hi") end'), undefined);
  assert.equal(validateLua('function envoy_on_response(h) h:headers():add("x-a", "b") end'), undefined);
});

test('Strict runs each entry point against the stream handle API', () => {
  // A method Envoy does not have.
  assert.match(validateLua('function envoy_on_request(h) h:noSuchApi() end') ?? '', /noSuchApi/);
  // A runtime error on the path taken (no such global in Envoy's Lua).
  assert.match(validateLua('function envoy_on_response(h)\n  return envoy.lua.ResponseStatus.Continue\nend') ?? '', /envoy_on_response: .*:2:/);
  // The documented API answers: headers, body, stream info, dynamic metadata, iteration.
  const ok = `
function envoy_on_request(h)
  for k, v in pairs(h:headers()) do h:logWarn(k .. v) end
  if h:headers():get(":path"):sub(1, 5) == "/api/" then h:headers():replace("x-api", "1") end
  local claims = h:streamInfo():dynamicMetadata():get("envoy.filters.http.jwt_authn")["payload"]
  local body = h:body()
  if body:length() > 0 then body:setBytes(string.upper(body:getBytes(0, body:length()))) end
  h:streamInfo():dynamicMetadata():set("envoy.lua", "seen", true)
  local ssl = h:connection():ssl()
  if ssl and ssl:peerCertificatePresented() then h:respond({ [":status"] = "403" }, "no") end
  local headers, resp = h:httpCall("cluster", { [":method"] = "GET", [":path"] = "/", [":authority"] = "a" }, "", 1000)
  print(unpack({ headers[":status"], resp }), bit.band(0xff, 0x0f))
end`;
  assert.equal(validateLua(ok), undefined);
});

test('InsecureSyntax only compiles; Disabled checks nothing', () => {
  const unknownApi = 'local json = require("json")\nfunction envoy_on_response(h) h:UnknownApi() end';
  assert.notEqual(validateLua(unknownApi, 'Strict'), undefined);
  assert.equal(validateLua(unknownApi, 'InsecureSyntax'), undefined);
  const badSyntax = 'function envoy_on_response(h)\n  if 1 > 0\n    h:logInfo("x")\n  end\nend';
  assert.match(validateLua(badSyntax, 'InsecureSyntax') ?? '', /:3:/);
  assert.equal(validateLua(badSyntax, 'Disabled'), undefined);
});

test('the validation VM reaches nothing outside it and stops runaway scripts', () => {
  assert.notEqual(validateLua('function envoy_on_request(h) os.execute("true") end'), undefined);
  assert.notEqual(validateLua('function envoy_on_request(h) io.open("/etc/hostname") end'), undefined);
  assert.notEqual(validateLua('function envoy_on_request(h) dofile("/etc/hostname") end'), undefined);
  assert.match(validateLua('function envoy_on_request(h) while true do end end') ?? '', /too long/);
  assert.match(validateLua('function envoy_on_request(h) local s = string.rep("x", 1e9) end') ?? '', /too large/);
});
