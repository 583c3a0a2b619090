// envoy.filters.http.wasm in the proxy with a Proxy-Wasm plugin assembled here from WebAssembly
// text (wabt): request and response header edits, a property read, body rewriting, a local
// reply, a trap; local and remote code (fetched through a cluster, checked by SHA-256); imports
// the host lacks are refused. Requests go through sockets, the codec, the filter and the router.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import wabtInit from 'wabt';
import { setScriptLogSink } from '../../src/proxy/http/filters/script_log.js';
import { allCounters } from '../../src/proxy/stats.js';
import { get, listen, problemsOf, staticCluster, startProxy, typed, type Running } from './auth/harness.js';

const WASM = 'envoy.extensions.filters.http.wasm.v3.Wasm';
const enable = typed('envoy.config.route.v3.FilterConfig', { config: {} });

// A plugin: adds x-wasm-request (its configuration) and x-wasm-path (the request.path property)
// to requests, x-wasm-response to responses; answers 403 itself when x-deny is present; traps on
// x-trap; buffers a request body and replaces it (dropping content-length first).
const plugin = `
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buf (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_buffer_bytes" (func $set_buf (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_remove_header_map_value" (func $rm_hdr (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_prop (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_current_time_nanoseconds" (func $now (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 8192))
  (global $cfg_ptr (mut i32) (i32.const 0))
  (global $cfg_len (mut i32) (i32.const 0))
  (data (i32.const 100) "x-deny")
  (data (i32.const 120) "x-wasm-request")
  (data (i32.const 140) "x-wasm-response")
  (data (i32.const 160) "yes")
  (data (i32.const 180) "denied")
  (data (i32.const 200) "blocked by wasm")
  (data (i32.const 220) "\\01\\00\\00\\00\\06\\00\\00\\00\\04\\00\\00\\00x-wasm\\00deny\\00")
  (data (i32.const 260) "request\\00path")
  (data (i32.const 280) "x-wasm-path")
  (data (i32.const 300) "rewritten by wasm")
  (data (i32.const 320) "configured")
  (data (i32.const 340) "x-trap")
  (data (i32.const 360) "content-length")
  (data (i32.const 400) "\\c0\\01\\00\\00\\0c\\00\\00\\00")
  (data (i32.const 448) "from stdout\\n")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param $ctx i32) (param $size i32) (result i32)
    (drop (call $get_buf (i32.const 7) (i32.const 0) (local.get $size) (i32.const 1024) (i32.const 1028)))
    (global.set $cfg_ptr (i32.load (i32.const 1024)))
    (global.set $cfg_len (i32.load (i32.const 1028)))
    (drop (call $log (i32.const 2) (i32.const 320) (i32.const 10)))
    (drop (call $fd_write (i32.const 1) (i32.const 400) (i32.const 1) (i32.const 1040)))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $end i32) (result i32)
    (drop (call $get_hdr (i32.const 0) (i32.const 340) (i32.const 6) (i32.const 1024) (i32.const 1028)))
    (if (i32.load (i32.const 1028)) (then unreachable))
    (drop (call $get_hdr (i32.const 0) (i32.const 100) (i32.const 6) (i32.const 1024) (i32.const 1028)))
    (if (i32.load (i32.const 1028))
      (then
        (drop (call $reply (i32.const 403) (i32.const 180) (i32.const 6) (i32.const 200) (i32.const 15) (i32.const 220) (i32.const 24) (i32.const -1)))
        (return (i32.const 1))))
    (drop (call $add_hdr (i32.const 0) (i32.const 120) (i32.const 14) (global.get $cfg_ptr) (global.get $cfg_len)))
    (if (i32.eqz (call $get_prop (i32.const 260) (i32.const 12) (i32.const 1024) (i32.const 1028)))
      (then (drop (call $add_hdr (i32.const 0) (i32.const 280) (i32.const 11) (i32.load (i32.const 1024)) (i32.load (i32.const 1028))))))
    (if (i32.eqz (local.get $end)) (then (drop (call $rm_hdr (i32.const 0) (i32.const 360) (i32.const 14)))))
    (drop (call $now (i32.const 1032)))
    (i32.const 0))
  (func (export "proxy_on_request_body") (param $ctx i32) (param $size i32) (param $end i32) (result i32)
    (if (i32.eqz (local.get $end)) (then (return (i32.const 1))))
    (drop (call $set_buf (i32.const 0) (i32.const 0) (local.get $size) (i32.const 300) (i32.const 17)))
    (i32.const 0))
  (func (export "proxy_on_response_headers") (param $ctx i32) (param $n i32) (param $end i32) (result i32)
    (drop (call $add_hdr (i32.const 2) (i32.const 140) (i32.const 15) (i32.const 160) (i32.const 3)))
    (i32.const 0))
)`;

// A plugin that asks a cluster before letting a request go: proxy_http_call from the request
// headers callback (pausing), the answer's body copied into a request header, then continue.
const caller = `
(module
  (import "env" "proxy_http_call" (func $http_call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $get_buf (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 8192))
  (data (i32.const 100) "authz")
  (data (i32.const 200) "\\03\\00\\00\\00\\07\\00\\00\\00\\03\\00\\00\\00\\05\\00\\00\\00\\06\\00\\00\\00\\0a\\00\\00\\00\\05\\00\\00\\00:method\\00GET\\00:path\\00/check\\00:authority\\00authz\\00")
  (data (i32.const 300) "x-authz")
  (data (i32.const 320) "x-authz-status")
  (data (i32.const 340) ":status")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $end i32) (result i32)
    (drop (call $http_call (i32.const 100) (i32.const 5) (i32.const 200) (i32.const 70) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 2000) (i32.const 1040)))
    (i32.const 1))
  (func (export "proxy_on_http_call_response") (param $ctx i32) (param $token i32) (param $nh i32) (param $size i32) (param $nt i32)
    (drop (call $get_buf (i32.const 4) (i32.const 0) (local.get $size) (i32.const 1024) (i32.const 1028)))
    (drop (call $add_hdr (i32.const 0) (i32.const 300) (i32.const 7) (i32.load (i32.const 1024)) (i32.load (i32.const 1028))))
    (drop (call $get_hdr (i32.const 6) (i32.const 340) (i32.const 7) (i32.const 1024) (i32.const 1028)))
    (drop (call $add_hdr (i32.const 0) (i32.const 320) (i32.const 14) (i32.load (i32.const 1024)) (i32.load (i32.const 1028))))
    (drop (call $continue (i32.const 0))))
)`;

// A plugin with a tick: the root context defines a counter and asks for a tick every 10 ms; each
// tick counts, and every request copies a shared-data value into a request header.
const ticker = `
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))
  (import "env" "proxy_define_metric" (func $define (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_increment_metric" (func $inc (param i32 i64) (result i32)))
  (import "env" "proxy_set_shared_data" (func $set_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_shared_data" (func $get_shared (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 8192))
  (global $metric (mut i32) (i32.const 0))
  (data (i32.const 100) "egts_test_wasm_ticks")
  (data (i32.const 140) "greeting")
  (data (i32.const 160) "hello from the root")
  (data (i32.const 200) "x-shared")
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32)
    (drop (call $define (i32.const 0) (i32.const 100) (i32.const 20) (i32.const 1024)))
    (global.set $metric (i32.load (i32.const 1024)))
    (drop (call $set_shared (i32.const 140) (i32.const 8) (i32.const 160) (i32.const 19) (i32.const 0)))
    (drop (call $tick (i32.const 10)))
    (i32.const 1))
  (func (export "proxy_on_tick") (param i32)
    (drop (call $inc (global.get $metric) (i64.const 1))))
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $end i32) (result i32)
    (drop (call $get_shared (i32.const 140) (i32.const 8) (i32.const 1024) (i32.const 1028) (i32.const 1032)))
    (drop (call $add_hdr (i32.const 0) (i32.const 200) (i32.const 8) (i32.load (i32.const 1024)) (i32.load (i32.const 1028))))
    (i32.const 0))
)`;

const lacking = `
(module
  (import "env" "proxy_grpc_call" (func (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024)))`;

async function assemble(text: string): Promise<Buffer> {
  const wabt = await wabtInit();
  const m = wabt.parseWat('plugin.wat', text);
  try { return Buffer.from(m.toBinary({}).buffer); } finally { m.destroy(); }
}

const stringValue = (value: string) => typed('google.protobuf.StringValue', { value });

function wasmFilter(name: string, code: object, configuration: string, extra: object = {}): object {
  return {
    name: `envoy.filters.http.wasm/${name}`, disabled: true,
    typedConfig: typed(WASM, { config: { name, configuration: stringValue(configuration), vmConfig: { vmId: name, runtime: 'envoy.wasm.runtime.v8', code }, ...extra } }),
  };
}

describe('wasm', () => {
  let r: Running;
  let bytes: Buffer;
  let wasmServer: { port: number; close(): void };
  let fetches = 0;
  const logs: string[] = [];
  let restore: ReturnType<typeof setScriptLogSink>;
  before(async () => {
    restore = setScriptLogSink((level, source, message) => logs.push(`${level} ${source} ${message}`), 0);
    bytes = await assemble(plugin);
    wasmServer = await listen(http.createServer((req, res) => {
      if (req.url === '/check') { res.end('granted'); return; }
      fetches++;
      res.end(req.url === '/plugin.wasm' ? bytes : 'not wasm');
    }));
    const callerBytes = await assemble(caller);
    const tickerBytes = await assemble(ticker);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const remote = (path: string, hash: string) => ({ remote: { httpUri: { uri: `http://wasm-cache${path}`, cluster: 'wasm_cluster', timeout: '5s' }, sha256: hash } });
    const n = (x: string) => `envoy.filters.http.wasm/${x}`;
    r = await startProxy({
      clusters: [staticCluster('wasm_cluster', [wasmServer.port]), staticCluster('authz', [wasmServer.port])],
      filters: [
        wasmFilter('local', { local: { inlineBytes: bytes.toString('base64') } }, 'local-config'),
        wasmFilter('trap', { local: { inlineBytes: bytes.toString('base64') } }, 'trap-config'),
        wasmFilter('remote', remote('/plugin.wasm', sha), 'remote-config'),
        wasmFilter('badsha', remote('/other.wasm', 'a'.repeat(64)), 'x'),
        wasmFilter('badsha-open', remote('/other.wasm', 'b'.repeat(64)), 'y', { failOpen: true }),
        wasmFilter('caller', { local: { inlineBytes: callerBytes.toString('base64') } }, ''),
        wasmFilter('ticker', { local: { inlineBytes: tickerBytes.toString('base64') } }, ''),
      ],
      routes: [
        { name: 'local', prefix: '/local', perFilter: { [n('local')]: enable } },
        { name: 'trap', prefix: '/trap', perFilter: { [n('trap')]: enable } },
        { name: 'remote', prefix: '/remote', perFilter: { [n('remote')]: enable } },
        { name: 'badsha', prefix: '/badsha', perFilter: { [n('badsha')]: enable } },
        { name: 'open', prefix: '/open', perFilter: { [n('badsha-open')]: enable } },
        { name: 'caller', prefix: '/caller', perFilter: { [n('caller')]: enable } },
        { name: 'ticker', prefix: '/ticker', perFilter: { [n('ticker')]: enable } },
        { name: 'plain', prefix: '/' },
      ],
    });
  });
  after(async () => { setScriptLogSink(restore); await r?.close(); wasmServer?.close(); });

  test('the plugin adds request and response headers from its configuration and properties', async () => {
    const res = await get(r.port, '/local/a?b=c');
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body).headers;
    assert.equal(seen['x-wasm-request'], 'local-config');
    assert.equal(seen['x-wasm-path'], '/local/a?b=c');
    assert.equal(res.headers['x-wasm-response'], 'yes');
    assert.ok(logs.includes('2 local wasm log: configured'), logs.join('\n'));
    assert.ok(logs.includes('2 local wasm log: from stdout'), logs.join('\n'));
    const plain = await get(r.port, '/plain');
    assert.equal(JSON.parse(plain.body).headers['x-wasm-request'], undefined);
  });

  test('the plugin answers a request itself with proxy_send_local_response', async () => {
    const before = r.backend.seen.length;
    const res = await get(r.port, '/local', { 'x-deny': '1' });
    assert.equal(res.status, 403);
    assert.equal(res.body, 'blocked by wasm');
    assert.equal(res.headers['x-wasm'], 'deny');
    assert.equal(res.headers['x-wasm-response'], undefined);
    assert.equal(r.backend.seen.length, before);
  });

  test('the plugin buffers and replaces the request body', async () => {
    const res = await get(r.port, '/local', { 'content-type': 'text/plain' }, 'POST', 'original body, longer than the new one');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).body, 'rewritten by wasm');
  });

  test('remote code is fetched through its cluster once, checked, and then runs', async () => {
    const res = await get(r.port, '/remote');
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).headers['x-wasm-request'], 'remote-config');
    const again = await get(r.port, '/remote');
    assert.equal(JSON.parse(again.body).headers['x-wasm-request'], 'remote-config');
  });

  test('a module whose SHA-256 does not match fails: closed answers 503, open lets requests through', async () => {
    assert.equal((await get(r.port, '/badsha')).status, 503);
    const open = await get(r.port, '/open');
    assert.equal(open.status, 200);
    assert.equal(JSON.parse(open.body).headers['x-wasm-request'], undefined);
    assert.ok(logs.some((l) => l.includes('has SHA-256')), logs.join('\n'));
    assert.ok(fetches >= 2);
  });

  test('a trap fails the plugin: 503 (fail closed), the worker goes on', async () => {
    assert.equal((await get(r.port, '/trap', { 'x-trap': '1' })).status, 503);
    assert.equal((await get(r.port, '/trap')).status, 503);
    assert.ok(logs.some((l) => l.startsWith('4 trap wasm plugin failed: proxy_on_request_headers failed')), logs.join('\n'));
    assert.equal((await get(r.port, '/local')).status, 200);
  });

  test('proxy_http_call: the request waits for the cluster\'s answer, then goes on with it', async () => {
    const res = await get(r.port, '/caller', { 'content-type': 'text/plain' }, 'POST', 'kept body');
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body);
    assert.equal(seen.headers['x-authz'], 'granted');
    assert.equal(seen.headers['x-authz-status'], '200');
    assert.equal(seen.body, 'kept body');
  });

  test('ABI 0.2.0 with malloc: the root context\'s tick, a counter in the proxy\'s stats, shared data', async () => {
    await new Promise((r) => setTimeout(r, 120));
    assert.ok(allCounters().get('egts_test_wasm_ticks')!.value >= 3);
    const seen = JSON.parse((await get(r.port, '/ticker')).body).headers;
    assert.equal(seen['x-shared'], 'hello from the root');
  });

  test('imports the host does not provide are refused, naming the filter and the import', async () => {
    const m = await assemble(lacking);
    const problems = await problemsOf({ filters: [wasmFilter('lacking', { local: { inlineBytes: m.toString('base64') } }, '')], routes: [{ name: 'r', prefix: '/' }] });
    assert.match(problems[0]!, /config\.vmConfig\.code: wasm plugin lacking: the module imports what this proxy does not provide: env\.proxy_grpc_call/);
    const junk = await problemsOf({ filters: [wasmFilter('junk', { local: { inlineString: 'not wasm' } }, '')], routes: [{ name: 'r', prefix: '/' }] });
    assert.match(junk[0]!, /wasm plugin junk: /);
  });
});

test('a plugin no configuration uses any more stops ticking once collected', async () => {
  const wat = ticker.replace('egts_test_wasm_ticks', 'egts_test_gone_ticks');
  const bytes = await assemble(wat);
  assert.deepEqual(await problemsOf({ filters: [wasmFilter('gone', { local: { inlineBytes: bytes.toString('base64') } }, '')], routes: [{ name: 'r', prefix: '/' }] }), []);
  const ticks = allCounters().get('egts_test_gone_ticks')!;
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  for (let i = 0; i < 5; i++) { gc(); await new Promise((r) => setTimeout(r, 30)); }
  const before = ticks.value;
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(ticks.value, before);
});
