// Where a Wasm module's bytes come from (VmConfig.code, an AsyncDataSource): a local DataSource
// (file, inline bytes or string), or a RemoteDataSource fetched over HTTP through the named
// cluster, checked against its sha256, retried as its retry_policy says. Envoy Gateway writes the
// remote form, pointing at its own Wasm cache. Compiled modules are kept by content hash, so a
// configuration update naming the same code compiles nothing and fetches nothing.
import { createHash } from 'node:crypto';
import { ConfigError } from '../../../config/errors.js';
import { at, dataSource, field, obj, str, type Json } from '../../../config/json.js';
import type { ClusterManagerView } from '../../../upstream/cluster_manager.js';
import { callCluster, compileCallRetry, compileHttpUri, type CallRetryPolicy, type HttpUri } from '../../async_client.js';

export type CodeSource =
  | { kind: 'local'; bytes: Buffer; sha256: string }
  | { kind: 'remote'; uri: HttpUri; sha256: string; retry: CallRetryPolicy | undefined };

export function compileCodeSource(vm: Json, path: string, readFile: (p: string) => Buffer): CodeSource {
  const code = obj(vm, 'code', path);
  const cp = at(path, 'code');
  if (!code) throw new ConfigError(cp, 'required');
  if (obj(code, 'local', cp)) {
    const bytes = dataSource(code, 'local', cp, readFile)!;
    if (!bytes.length) throw new ConfigError(at(cp, 'local'), 'the module is empty');
    return { kind: 'local', bytes, sha256: sha256(bytes) };
  }
  const remote = obj(code, 'remote', cp);
  if (!remote) throw new ConfigError(cp, 'one of local or remote is required');
  const rp = at(cp, 'remote');
  const hash = str(remote, 'sha256', rp).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new ConfigError(at(rp, 'sha256'), 'a hex SHA-256 digest of the module is required');
  return { kind: 'remote', uri: compileHttpUri(obj(remote, 'httpUri', rp), at(rp, 'httpUri')), sha256: hash, retry: compileCallRetry(field(remote, 'retryPolicy'), at(rp, 'retryPolicy')) };
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

const MODULES_KEPT = 32;
const modules = new Map<string, WebAssembly.Module>();

/** The compiled module for code with this hash, if one was compiled before. */
export function cachedModule(hash: string): WebAssembly.Module | undefined {
  const m = modules.get(hash);
  if (m) { modules.delete(hash); modules.set(hash, m); }
  return m;
}

/** Compiles (or finds) the module of these bytes; throws with the compiler's message. */
export function compileModule(bytes: Buffer, hash: string): WebAssembly.Module {
  const hit = cachedModule(hash);
  if (hit) return hit;
  const m = new WebAssembly.Module(bytes);
  modules.set(hash, m);
  if (modules.size > MODULES_KEPT) modules.delete(modules.keys().next().value!);
  return m;
}

const inFlight = new Map<string, Promise<WebAssembly.Module>>();

/** Fetches, checks and compiles remote code; concurrent loads of the same code share one fetch. */
export function fetchModule(clusters: ClusterManagerView, src: Extract<CodeSource, { kind: 'remote' }>): Promise<WebAssembly.Module> {
  const hit = cachedModule(src.sha256);
  if (hit) return Promise.resolve(hit);
  let p = inFlight.get(src.sha256);
  if (!p) {
    p = fetchOnce(clusters, src).finally(() => inFlight.delete(src.sha256));
    inFlight.set(src.sha256, p);
  }
  return p;
}

async function fetchOnce(clusters: ClusterManagerView, src: Extract<CodeSource, { kind: 'remote' }>): Promise<WebAssembly.Module> {
  const u = src.uri;
  const r = await callCluster(clusters, u.cluster, {
    method: 'GET', path: u.path, authority: u.authority, scheme: u.scheme, headers: [], timeoutMs: u.timeoutMs, retry: src.retry,
  }).result;
  if (!r.ok) throw new Error(`fetching ${u.uri} through cluster ${u.cluster} failed: ${r.failure} (${r.detail})`);
  if (r.response.status !== 200) throw new Error(`fetching ${u.uri} through cluster ${u.cluster}: status ${r.response.status}`);
  const got = sha256(r.response.body);
  if (got !== src.sha256) throw new Error(`the module fetched from ${u.uri} has SHA-256 ${got}, expected ${src.sha256}`);
  return compileModule(r.response.body, got);
}
