// The Wasm module cache: what Envoy Gateway does for EnvoyExtensionPolicy Wasm code. A module is
// downloaded (HTTP(S), or pulled from an OCI registry), checked against the user's sha256 (of the
// module for HTTP, of the image manifest for an image), stored by content under the cache folder,
// and served to the proxies (server.ts) under an unguessable name derived from its URL and content.
//
// The translator does no I/O, so fetching and looking up are separate: `prefetch` is handed the
// modules a set of resources needs and fetches those it must (in parallel, each within a timeout);
// `resolve`, synchronous, answers from what has been fetched: the serving URL and the module's
// checksum, or the error the policy gets. When a background fetch ends with a new outcome,
// `onChange` says so, and the resources are translated again.
//
// Pull policy, as Envoy Gateway's cache: with a sha256 the content is pinned and a stored module
// is used; without one, IfNotPresent (the default, except for an image's `latest` tag) uses what
// was fetched before, Always fetches again whenever the policy asking has a new resourceVersion.
// A private image (pull secret) is cached per secret: a policy gets a module only with
// credentials that could pull it. A failed fetch is tried again on the next change after
// `retryMs`, and (once started) in the background after retryMs, doubling up to 10 minutes, for
// as long as the resources still name it.
//
// Bounds: each module at most `maxModuleBytes`; the folder at most `maxCacheBytes` (a module that
// would pass it is refused); modules no policy asked for (and no proxy fetched) within
// `moduleExpiryMs` are deleted, checked every `purgeIntervalMs`.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WasmCache, WasmModuleRequest, WasmResolution } from '../gatewayapi/settings.js';
import type { WasmModuleToFetch } from '../gatewayapi/wasmcode.js';
import { describe, downloadModule, isWasmBinary } from './download.js';
import { prepareImage } from './oci.js';

export interface WasmModuleCacheOptions {
  /** The cache folder (modules/ and the serving salt live there). */
  dir: string;
  /** The HTTP client (the global fetch by default). */
  fetch?: typeof fetch;
  /** How long one module's download may take (default 60 s). */
  timeoutMs?: number;
  /** Largest module (default 256 MiB, Envoy Gateway's limit). */
  maxModuleBytes?: number;
  /** Largest total size of the stored modules (default 1 GiB). */
  maxCacheBytes?: number;
  /** A module unused this long is deleted (default 24 h). */
  moduleExpiryMs?: number;
  /** How often expired modules are looked for (default 1 h). */
  purgeIntervalMs?: number;
  /** How long after a failed fetch it is tried again (default 30 s). */
  retryMs?: number;
  /** A fetch ended with a new outcome: what `resolve` answers changed. */
  onChange?: () => void;
  log?: { info(m: string): void; warn(m: string): void };
}

type Outcome = { ok: true; checksum: string } | { ok: false; error: string };

/** One way of getting a module: its URL, the checksum asked for, the pull secret used. */
interface Source {
  url: string;
  outcome?: Outcome;
  /** When the outcome was had. */
  at: number;
  pending?: Promise<void>;
  /** The resourceVersion of each Wasm extension (resource name) when it last had this source. */
  versions: Map<string, string>;
  /** Failed fetches in a row, and the background retry planned after the last. */
  failures: number;
  retry?: NodeJS.Timeout;
}

const maxRetryDelayMs = 10 * 60_000;

interface StoredModule {
  file: string;
  size: number;
  lastUsed: number;
}

const ociPrefix = 'oci://';

export class WasmModuleCache implements WasmCache {
  private readonly sources = new Map<string, Source>();
  private readonly modules = new Map<string, StoredModule>();
  /** Serving path (`<name>.wasm`) → module checksum. */
  private readonly served = new Map<string, string>();
  private readonly modulesDir: string;
  private readonly indexFile: string;
  private readonly salt: Buffer;
  private servingURLPrefix = '';
  private purgeTimer: NodeJS.Timeout | undefined;
  /** Background work (purges, retries) runs between start and stop. */
  private running = false;
  /** The sources the last prefetch was asked for: those still worth retrying. */
  private wanted = new Map<string, WasmModuleToFetch[]>();
  private readonly o: Required<Omit<WasmModuleCacheOptions, 'fetch' | 'onChange' | 'log'>> & WasmModuleCacheOptions;

  constructor(options: WasmModuleCacheOptions) {
    this.o = { timeoutMs: 60_000, maxModuleBytes: 256 << 20, maxCacheBytes: 1 << 30, moduleExpiryMs: 24 * 3600_000, purgeIntervalMs: 3600_000, retryMs: 30_000, ...options };
    this.modulesDir = join(options.dir, 'modules');
    mkdirSync(this.modulesDir, { recursive: true, mode: 0o700 });
    // The salt makes serving names unguessable from a module's URL, and stays the same across
    // restarts so that the proxies' configuration does too.
    const saltFile = join(options.dir, 'salt');
    try {
      this.salt = readFileSync(saltFile);
    } catch {
      this.salt = randomBytes(32);
      writeFileSync(saltFile, this.salt, { mode: 0o600 });
    }
    // Modules stored by an earlier run: usable at once for a pinned HTTP checksum, and through
    // the index for the sources that gave them (a restart needs no download under IfNotPresent).
    for (const f of readdirSync(this.modulesDir)) {
      const m = /^([0-9a-f]{64})\.wasm$/.exec(f);
      if (!m) continue;
      const st = statSync(join(this.modulesDir, f));
      this.modules.set(m[1]!, { file: join(this.modulesDir, f), size: st.size, lastUsed: st.mtimeMs });
    }
    this.indexFile = join(options.dir, 'index.json');
    let index: Record<string, { url: string; checksum: string }> = {};
    try {
      index = JSON.parse(readFileSync(this.indexFile, 'utf8'));
    } catch {
      // No index yet (or an unreadable one): sources are fetched again.
    }
    for (const [key, e] of Object.entries(index)) {
      if (typeof e?.url !== 'string' || !this.modules.has(e.checksum)) continue;
      this.sources.set(key, { url: e.url, outcome: { ok: true, checksum: e.checksum }, at: Date.now(), versions: new Map(), failures: 0 });
    }
  }

  /** Records which source gave which module (index.json), for the next run. */
  private saveIndex(): void {
    const index: Record<string, { url: string; checksum: string }> = {};
    for (const [key, s] of this.sources) if (s.outcome?.ok) index[key] = { url: s.url, checksum: s.outcome.checksum };
    try {
      writeFileSync(this.indexFile, JSON.stringify(index), { mode: 0o600 });
    } catch (err) {
      this.o.log?.warn(`Wasm cache index ${this.indexFile}: ${(err as Error).message}`);
    }
  }

  /** Where the proxies reach the cache's server, e.g. `https://127.0.0.1:18002/`. */
  setServingURLPrefix(prefix: string): void {
    this.servingURLPrefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  start(): void {
    this.running = true;
    this.purgeTimer ??= setInterval(() => this.purge(), this.o.purgeIntervalMs).unref();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.purgeTimer);
    this.purgeTimer = undefined;
    for (const s of this.sources.values()) clearTimeout(s.retry);
  }

  resolve(url: string, request: WasmModuleRequest): WasmResolution {
    const source = this.sources.get(sourceKey(url, request));
    const outcome = source?.outcome;
    if (!outcome) return { error: `Wasm module ${url} is ${source?.pending ? 'still being fetched' : 'not fetched yet'}` };
    if (!outcome.ok) return { error: outcome.error };
    const m = this.modules.get(outcome.checksum);
    if (!m) return { error: `Wasm module ${url} is no longer in the cache` };
    m.lastUsed = Date.now();
    const path = this.servingPath(url, outcome.checksum);
    this.served.set(path, outcome.checksum);
    return { servingURL: `${this.servingURLPrefix}${path}`, checksum: outcome.checksum };
  }

  /** The file to send for a serving path, if it names a module. */
  fileFor(path: string): string | undefined {
    const checksum = this.served.get(path);
    const m = checksum === undefined ? undefined : this.modules.get(checksum);
    if (m) m.lastUsed = Date.now();
    return m?.file;
  }

  /** What `resolve` would answer for these modules: changes when an outcome does. */
  stateOf(modules: readonly WasmModuleToFetch[]): string {
    return modules.map((x) => {
      const o = this.sources.get(sourceKey(x.url, x.request))?.outcome;
      return o ? (o.ok ? o.checksum : o.error) : '-';
    }).join('\n');
  }

  /**
   * Fetches what these modules need (missing, failed long enough ago, or due under the pull
   * policy) and waits for them up to waitMs. Later completions call onChange.
   */
  async prefetch(modules: readonly WasmModuleToFetch[], waitMs = this.o.timeoutMs): Promise<void> {
    const waits: Promise<void>[] = [];
    const byKey = new Map<string, WasmModuleToFetch[]>();
    for (const x of modules) {
      const key = sourceKey(x.url, x.request);
      byKey.set(key, [...(byKey.get(key) ?? []), x]);
    }
    for (const [key, asks] of byKey) {
      let s = this.sources.get(key);
      if (!s) this.sources.set(key, (s = { url: asks[0]!.url, at: 0, versions: new Map(), failures: 0 }));
      if (s.pending) {
        waits.push(s.pending);
        continue;
      }
      if (!asks.some((x) => this.due(s!, x))) {
        // Still good: these policies have it as of their current version.
        for (const x of asks) s.versions.set(x.request.resourceName, x.request.resourceVersion);
        if (s.outcome?.ok) {
          const m = this.modules.get(s.outcome.checksum);
          if (m) m.lastUsed = Date.now();
        }
        continue;
      }
      waits.push(this.fetchSource(s, asks));
    }
    this.wanted = byKey;
    if (!waits.length) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(waits), new Promise<void>((r) => (timer = setTimeout(r, waitMs)))]);
    clearTimeout(timer);
  }

  private due(s: Source, x: WasmModuleToFetch): boolean {
    const o = s.outcome;
    if (!o) return true;
    if (!o.ok) return Date.now() - s.at >= this.o.retryMs || s.versions.get(x.request.resourceName) !== x.request.resourceVersion;
    if (!this.modules.has(o.checksum)) return true;
    if (x.request.sha256 || digestIn(x.url)) return false;
    const policy = x.request.pullPolicy ?? (x.url.startsWith(ociPrefix) && x.url.endsWith(':latest') ? 'Always' : 'IfNotPresent');
    return policy === 'Always' && s.versions.get(x.request.resourceName) !== x.request.resourceVersion;
  }

  private fetchSource(s: Source, asks: WasmModuleToFetch[]): Promise<void> {
    const { url, request } = asks[0]!;
    const before = JSON.stringify(s.outcome);
    clearTimeout(s.retry);
    const settle = (outcome: Outcome) => {
      Object.assign(s, { outcome, at: Date.now(), pending: undefined, failures: outcome.ok ? 0 : s.failures + 1 });
      if (!outcome.ok) this.retryLater(s, asks);
      for (const x of asks) s.versions.set(x.request.resourceName, x.request.resourceVersion);
      if (!outcome.ok) this.o.log?.warn(`Wasm module ${url}: ${outcome.error}`);
      else if (before !== JSON.stringify(outcome)) {
        this.o.log?.info(`Wasm module ${url}: stored, sha256 ${outcome.checksum}`);
        this.saveIndex();
      }
      return JSON.stringify(outcome) !== before;
    };
    // Announced whatever the waiting: a translation that already saw the outcome finds nothing new.
    s.pending = this.fetchModule(url, request).then(
      (checksum) => settle({ ok: true, checksum }),
      (err: unknown) => settle({ ok: false, error: (err as Error).message }),
    ).then((changed) => {
      if (changed) this.o.onChange?.();
    });
    return s.pending;
  }

  /** Plans the next attempt of a failed source, if it is still wanted then. */
  private retryLater(s: Source, asks: WasmModuleToFetch[]): void {
    if (!this.running) return;
    const delay = Math.min(maxRetryDelayMs, this.o.retryMs * 2 ** (s.failures - 1));
    s.retry = setTimeout(() => {
      s.retry = undefined;
      const key = sourceKey(asks[0]!.url, asks[0]!.request);
      const still = this.wanted.get(key);
      if (this.running && still && this.sources.get(key) === s && !s.pending) void this.fetchSource(s, still);
    }, delay).unref();
  }

  /** Downloads and stores a module; its checksum. */
  private async fetchModule(url: string, request: WasmModuleRequest): Promise<string> {
    const expected = request.sha256 ?? digestIn(url);
    const signal = AbortSignal.timeout(this.o.timeoutMs);
    const dl = { fetch: this.o.fetch, signal, maxBytes: this.o.maxModuleBytes };
    let bytes: Buffer;
    if (url.startsWith(ociPrefix)) {
      let image;
      try {
        image = await prepareImage(url, { ...dl, pullSecret: request.pullSecret });
      } catch (err) {
        throw new Error(`could not fetch Wasm OCI image: ${describe(err)}`);
      }
      if (expected && image.digest !== expected) throw mismatch(url, image.digest, expected);
      try {
        bytes = await image.module();
      } catch (err) {
        throw new Error(`could not fetch Wasm binary: ${describe(err)}`);
      }
    } else if (/^https?:\/\//.test(url)) {
      // A pinned module stored before needs no download.
      if (expected && this.modules.has(expected)) return expected;
      try {
        bytes = await downloadModule(url, dl);
      } catch (err) {
        throw new Error(describe(err));
      }
      const got = sha256hex(bytes);
      if (expected && got !== expected) throw mismatch(url, got, expected);
    } else {
      throw new Error(`unsupported Wasm module downloading URL scheme: ${url.split(':')[0]}`);
    }
    if (!isWasmBinary(bytes)) throw new Error(`fetched Wasm binary from ${url} is invalid`);
    return this.store(bytes);
  }

  private store(bytes: Buffer): string {
    const checksum = sha256hex(bytes);
    const known = this.modules.get(checksum);
    if (known) {
      known.lastUsed = Date.now();
      return checksum;
    }
    if (this.size() + bytes.length > this.o.maxCacheBytes) {
      this.purge();
      if (this.size() + bytes.length > this.o.maxCacheBytes) throw new Error(`wasm cache size exceeded the limit: ${this.o.maxCacheBytes}`);
    }
    const file = join(this.modulesDir, `${checksum}.wasm`);
    writeFileSync(file, bytes, { mode: 0o600 });
    this.modules.set(checksum, { file, size: bytes.length, lastUsed: Date.now() });
    return checksum;
  }

  private size(): number {
    let n = 0;
    for (const m of this.modules.values()) n += m.size;
    return n;
  }

  /** Deletes the modules unused for moduleExpiryMs, and forgets the sources that gave them. */
  purge(now = Date.now()): void {
    const count = this.modules.size;
    this.purgeExpired(now);
    if (this.modules.size !== count) this.saveIndex();
  }

  private purgeExpired(now: number): void {
    for (const [checksum, m] of this.modules) {
      if (now - m.lastUsed < this.o.moduleExpiryMs) continue;
      rmSync(m.file, { force: true });
      this.modules.delete(checksum);
      for (const [k, s] of this.sources) if (s.outcome?.ok && s.outcome.checksum === checksum && !s.pending) this.sources.delete(k);
      for (const [p, c] of this.served) if (c === checksum) this.served.delete(p);
      this.o.log?.info(`Wasm module ${checksum}: unused for a while, removed`);
    }
  }

  /**
   * The name a module is served under: a hash of its URL with the salt, not guessable from the
   * URL (as Envoy Gateway's), and of the module, so that two versions of one URL in use at once
   * (pull policy Always) are two names.
   */
  private servingPath(url: string, checksum: string): string {
    return `${createHash('sha256').update(url).update(this.salt).update(checksum).digest('base64url')}.wasm`;
  }
}

const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The digest an image URL is pinned to (`@sha256:<hex>`), hex. */
function digestIn(url: string): string | undefined {
  return url.startsWith(ociPrefix) ? /@sha256:([0-9a-f]{64})$/.exec(url)?.[1] : undefined;
}

function sourceKey(url: string, r: WasmModuleRequest): string {
  const secret = r.pullSecret ? sha256hex(Buffer.from(r.pullSecret)) : '';
  return `${url}\n${r.sha256 ?? ''}\n${secret}`;
}

const mismatch = (url: string, got: string, expected: string) => new Error(`module downloaded from ${url} has checksum ${got}, which does not match: ${expected}`);
