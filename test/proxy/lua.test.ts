// envoy.filters.http.lua in the proxy, configured as Envoy Gateway writes it (each policy's script
// its own filter, disabled on the listener and enabled per route), with real requests through
// sockets, the codec, the filter and the router to a backend that echoes what it got.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setScriptLogSink } from '../../src/proxy/http/filters/script_log.js';
import { get, listen, problemsOf, staticCluster, startProxy, typed, type Running } from './auth/harness.js';

const LUA = 'envoy.extensions.filters.http.lua.v3.Lua';
const PER_ROUTE = 'envoy.extensions.filters.http.lua.v3.LuaPerRoute';
const enable = typed('envoy.config.route.v3.FilterConfig', { config: {} });

const lua = (name: string, code: string, extra: object = {}) => ({
  name: `envoy.filters.http.lua/${name}`, disabled: true, typedConfig: typed(LUA, { defaultSourceCode: { inlineString: code }, ...extra }),
});

const headers = `
function envoy_on_request(h)
  h:headers():add("x-lua-request", h:headers():get(":path") .. "|" .. h:headers():get(":method"))
  h:headers():remove("x-drop")
end
function envoy_on_response(h)
  h:headers():replace("x-lua-response", "status=" .. h:headers():get(":status"))
  local n = 0
  for k, v in pairs(h:headers()) do n = n + 1 end
  h:headers():add("x-count", tostring(n))
end`;

const body = `
function envoy_on_request(h)
  local b = h:body()
  if b == nil then h:headers():add("x-body", "none") return end
  h:headers():add("x-body-length", tostring(b:length()))
  b:setBytes(string.upper(b:getBytes(0, b:length())))
end
function envoy_on_response(h)
  local b = h:body()
  b:setBytes("[" .. b:getBytes() .. "]")
end`;

const respond = `
function envoy_on_request(h)
  if h:headers():get("x-token") ~= "secret" then
    h:respond({[":status"] = "403", ["x-reason"] = "no token", ["content-type"] = "text/plain"}, "denied by lua")
  end
  h:logInfo("allowed")
end`;

const failing = `
function envoy_on_request(h)
  local t = nil
  h:logWarn("about to fail")
  return t.field
end`;

const runaway = `
function envoy_on_request(h)
  while true do end
end`;

const chunks = `
function envoy_on_request(h)
  local n = 0
  for chunk in h:bodyChunks() do n = n + chunk:length() end
  h:logInfo("streamed " .. n)
end`;

const context = `
function envoy_on_request(h)
  local ctx = h:filterContext()
  h:headers():add("x-mode", tostring(ctx.mode))
  h:streamInfo():dynamicMetadata():set("lua", "seen", "yes")
  h:headers():add("x-seen", h:streamInfo():dynamicMetadata():get("lua").seen)
  h:headers():add("x-protocol", h:streamInfo():protocol())
  h:headers():add("x-ssl", tostring(h:connection():ssl() == nil))
  h:headers():add("x-b64", h:base64Escape("hi"))
end`;

const call = `
function envoy_on_request(h)
  local headers, body = h:httpCall("authz", {[":method"] = "POST", [":path"] = "/check", [":authority"] = "authz",
    ["x-user"] = h:headers():get("x-user") or ""}, "payload", 2000)
  if headers[":status"] ~= "200" then
    h:respond({[":status"] = "403"}, "denied: " .. (body or ""))
    return
  end
  h:headers():add("x-authz", body)
  local b = h:body()
  if b ~= nil then h:headers():add("x-body-after-call", b:getBytes()) end
end`;

const badCluster = 'function envoy_on_request(h) h:httpCall("nowhere", {[":method"] = "GET", [":path"] = "/", [":authority"] = "x"}, nil, 100) end';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const der = keys.publicKey.export({ format: 'der', type: 'spki' });
const signature = `
local key = "${[...der].map((b) => `\\${b}`).join('')}"
function envoy_on_request(h)
  local pk = h:importPublicKey(key, #key)
  local sig = h:headers():get("x-sig-hex"):gsub("..", function(c) return string.char(tonumber(c, 16)) end)
  local data = h:headers():get("x-data")
  local ok, err = h:verifySignature("SHA256", pk, sig, #sig, data, #data)
  h:headers():add("x-verified", tostring(ok) .. ":" .. tostring(err))
end`;

const meta = `
function envoy_on_request(h)
  h:headers():add("x-meta", h:metadata():get("greeting") .. "/" .. h:route():metadata():get("greeting"))
  local n = 0
  for k, v in pairs(h:metadata()) do n = n + 1 end
  h:headers():add("x-meta-count", tostring(n))
  h:headers():add("x-vc", "[" .. h:streamInfo():virtualClusterName() .. "]")
end`;

const trailers = `
function envoy_on_request(h)
  local t = h:trailers()
  h:headers():add("x-trailer", t and t:get("x-checksum") or "none")
end`;

/** A chunked POST with request trailers; resolves with the backend's JSON view of it. */
function postWithTrailers(port: number, path: string, body: string, t: Record<string, string>): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', headers: { host: 'www.example.com', 'transfer-encoding': 'chunked', trailer: Object.keys(t).join(',') }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.write(body);
    req.addTrailers(t);
    req.end();
  });
}

describe('lua', () => {
  let r: Running;
  let authz: { port: number; close(): void };
  const logs: string[] = [];
  let restore: ReturnType<typeof setScriptLogSink>;
  before(async () => {
    restore = setScriptLogSink((level, source, message) => logs.push(`${level} ${source} ${message}`), 0);
    authz = await listen(http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => {
        const ok = req.headers['x-user'] === 'alice' && body === 'payload' && req.url === '/check' && req.method === 'POST';
        res.writeHead(ok ? 200 : 403);
        res.end(ok ? `ok:${req.headers['x-user']}` : 'nope');
      });
    }));
    const n = (x: string) => `envoy.filters.http.lua/${x}`;
    r = await startProxy({
      filters: [
        lua('headers', headers), lua('body', body), lua('respond', respond), lua('failing', failing), lua('runaway', runaway),
        lua('chunks', chunks), lua('context', context), lua('call', call), lua('badcluster', badCluster), lua('signature', signature), lua('trailers', trailers), lua('meta', meta),
        { name: n('named'), disabled: true, typedConfig: typed(LUA, { sourceCodes: { a: { inlineString: 'function envoy_on_request(h) h:headers():add("x-named", "a") end' } } }) },
      ],
      routes: [
        { name: 'headers', prefix: '/headers', perFilter: { [n('headers')]: enable } },
        { name: 'body', prefix: '/body', perFilter: { [n('body')]: enable } },
        { name: 'respond', prefix: '/respond', perFilter: { [n('respond')]: enable } },
        { name: 'failing', prefix: '/failing', perFilter: { [n('failing')]: enable } },
        { name: 'runaway', prefix: '/runaway', perFilter: { [n('runaway')]: enable } },
        { name: 'chunks', prefix: '/chunks', perFilter: { [n('chunks')]: enable } },
        { name: 'context', prefix: '/context', perFilter: { [n('context')]: typed(PER_ROUTE, { filterContext: { mode: 'strict' } }) } },
        { name: 'named', prefix: '/named', perFilter: { [n('named')]: typed(PER_ROUTE, { name: 'a' }) } },
        { name: 'own', prefix: '/own', perFilter: { [n('named')]: typed(PER_ROUTE, { sourceCode: { inlineString: 'function envoy_on_response(h) h:headers():add("x-own", "yes") end' } }) } },
        { name: 'call', prefix: '/call', perFilter: { [n('call')]: enable } },
        { name: 'signature', prefix: '/signature', perFilter: { [n('signature')]: enable } },
        { name: 'trailers', prefix: '/trailers', perFilter: { [n('trailers')]: enable } },
        { name: 'meta', prefix: '/meta', perFilter: { [n('meta')]: enable }, metadata: { filterMetadata: { [n('meta')]: { greeting: 'hi', other: 1 } } } },
        { name: 'badcluster', prefix: '/badcluster', perFilter: { [n('badcluster')]: enable } },
        { name: 'plain', prefix: '/' },
      ],
      clusters: [staticCluster('authz', [authz.port])],
      // HTTP/1.1 request trailers reach filters only when enabled, as in Envoy.
      hcm: { httpProtocolOptions: { enableTrailers: true } },
    });
  });
  after(async () => { setScriptLogSink(restore); await r?.close(); authz?.close(); });

  test('a script adds a request header and a response header; routes without it are untouched', async () => {
    const res = await get(r.port, '/headers/x?y=1', { 'x-drop': 'gone' });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.headers['x-lua-request'], '/headers/x?y=1|GET');
    assert.equal(seen.headers['x-drop'], undefined);
    assert.equal(res.headers['x-lua-response'], 'status=200');
    assert.ok(Number(res.headers['x-count']) >= 3);
    const plain = await get(r.port, '/plain');
    assert.equal(JSON.parse(plain.body).headers['x-lua-request'], undefined);
    assert.equal(plain.headers['x-lua-response'], undefined);
  });

  test('a script reads and rewrites the request and the response body', async () => {
    const res = await get(r.port, '/body', { 'content-type': 'text/plain' }, 'POST', 'hello lua');
    assert.equal(res.status, 200);
    const text = res.body;
    assert.ok(text.startsWith('[') && text.endsWith(']'), text);
    const seen = JSON.parse(text.slice(1, -1));
    assert.equal(seen.body, 'HELLO LUA');
    assert.equal(seen.headers['x-body-length'], '9');
    assert.equal(seen.headers['content-length'], '9');
    const none = await get(r.port, '/body');
    assert.equal(JSON.parse(none.body.slice(1, -1)).headers['x-body'], 'none');
  });

  test('a body past the connection buffer limit is refused with 413', async () => {
    const res = await get(r.port, '/body', {}, 'POST', 'x'.repeat(1024 * 1024 + 1));
    assert.equal(res.status, 413);
  });

  test('respond() answers without reaching the backend', async () => {
    const before = r.backend.seen.length;
    const res = await get(r.port, '/respond');
    assert.equal(res.status, 403);
    assert.equal(res.body, 'denied by lua');
    assert.equal(res.headers['x-reason'], 'no token');
    assert.equal(res.headers['content-length'], '13');
    assert.equal(r.backend.seen.length, before);
    assert.equal((await get(r.port, '/respond', { 'x-token': 'secret' })).status, 200);
    assert.ok(logs.some((l) => l === '2 envoy.filters.http.lua/respond script log: allowed'), logs.join('\n'));
  });

  test('a script error is logged and the request goes on, as in Envoy (fail open)', async () => {
    const before = r.backend.seen.length;
    const res = await get(r.port, '/failing');
    assert.equal(res.status, 200);
    assert.equal(r.backend.seen.length, before + 1);
    assert.ok(logs.some((l) => l.startsWith('3 ') && l.includes('about to fail')));
    assert.ok(logs.some((l) => l.startsWith('4 envoy.filters.http.lua/failing') && /attempt to index a nil value/.test(l)), logs.join('\n'));
    // The worker is fine: the next request on another route goes through.
    assert.equal((await get(r.port, '/headers')).status, 200);
  });

  test('a script that never ends is stopped by the instruction budget', async () => {
    const t0 = Date.now();
    const res = await get(r.port, '/runaway');
    assert.equal(res.status, 200);
    assert.ok(Date.now() - t0 < 5000);
    assert.ok(logs.some((l) => l.includes('instructions without waiting')));
  });

  test('bodyChunks() streams the body through the script', async () => {
    const res = await get(r.port, '/chunks', {}, 'POST', 'x'.repeat(100_000));
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).body.length, 100_000);
    assert.ok(logs.some((l) => l.endsWith('streamed 100000')), logs.join('\n'));
  });

  test('filter context, dynamic metadata, stream info and helpers', async () => {
    const seen = JSON.parse((await get(r.port, '/context')).body).headers;
    assert.equal(seen['x-mode'], 'strict');
    assert.equal(seen['x-seen'], 'yes');
    assert.equal(seen['x-protocol'], 'HTTP/1.1');
    assert.equal(seen['x-ssl'], 'true');
    assert.equal(seen['x-b64'], 'aGk=');
  });

  test('per-route scripts: a named source code, a route\'s own script', async () => {
    assert.equal(JSON.parse((await get(r.port, '/named')).body).headers['x-named'], 'a');
    assert.equal((await get(r.port, '/own')).headers['x-own'], 'yes');
  });

  test('httpCall() waits for a cluster\'s answer, then the body', async () => {
    const ok = await get(r.port, '/call', { 'x-user': 'alice', 'content-type': 'text/plain' }, 'POST', 'request body');
    assert.equal(ok.status, 200);
    const seen = JSON.parse(ok.body);
    assert.equal(seen.headers['x-authz'], 'ok:alice');
    assert.equal(seen.headers['x-body-after-call'], 'request body');
    assert.equal(seen.body, 'request body');
    const denied = await get(r.port, '/call', { 'x-user': 'bob' });
    assert.equal(denied.status, 403);
    assert.equal(denied.body, 'denied: nope');
    assert.equal((await get(r.port, '/badcluster')).status, 200);
    assert.ok(logs.some((l) => l.includes('http call cluster invalid')), logs.join('\n'));
  });

  test('importPublicKey() and verifySignature() check an RSA signature', async () => {
    const data = 'signed payload';
    const sig = sign('sha256', Buffer.from(data), keys.privateKey).toString('hex');
    const good = JSON.parse((await get(r.port, '/signature', { 'x-sig-hex': sig, 'x-data': data })).body).headers;
    assert.equal(good['x-verified'], 'true:nil');
    const bad = JSON.parse((await get(r.port, '/signature', { 'x-sig-hex': sig, 'x-data': 'tampered' })).body).headers;
    assert.equal(bad['x-verified'], 'false:Failed to verify digest. Error code: 0');
  });

  test('trailers() waits for the end of the request and reads its trailers', async () => {
    const res = await postWithTrailers(r.port, '/trailers', 'some body', { 'x-checksum': 'abc123' });
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.headers['x-trailer'], 'abc123');
    assert.equal(seen.body, 'some body');
    const none = JSON.parse((await get(r.port, '/trailers', {}, 'POST', 'x')).body);
    assert.equal(none.headers['x-trailer'], 'none');
  });

  test('metadata() and route():metadata() read the route\'s filter metadata under the filter\'s name', async () => {
    const seen = JSON.parse((await get(r.port, '/meta')).body).headers;
    assert.equal(seen['x-meta'], 'hi/hi');
    assert.equal(seen['x-meta-count'], '2');
    assert.equal(seen['x-vc'], '[]');
  });

  test('scripts that do not load are refused, naming the field', async () => {
    const bad = await problemsOf({ filters: [lua('bad', 'function envoy_on_request(h) h:oops( end')], routes: [{ name: 'r', prefix: '/' }] });
    assert.match(bad[0]!, /defaultSourceCode: the Lua script does not load: .*/);
    const top = await problemsOf({ filters: [lua('top', 'error("at load")')], routes: [{ name: 'r', prefix: '/' }] });
    assert.match(top[0]!, /at load/);
  });
});
