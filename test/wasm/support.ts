// Test fixtures for the Wasm cache: a Proxy-Wasm plugin assembled with wabt (it adds
// `x-wasm-custom: FOO` to responses), a tar writer for compat-variant image layers, and an OCI
// registry stand-in: the few routes of the distribution v2 API a pull uses, over node:http, behind
// a bearer token service that wants basic credentials for private repositories.
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import wabtInit from 'wabt';

const plugin = `
(module
  (import "env" "proxy_add_header_map_value" (func $add_hdr (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 100) "x-wasm-custom")
  (data (i32.const 120) "FOO")
  (data (i32.const 140) "VARIANT")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (global.get $heap) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32)
    (drop (call $add_hdr (i32.const 2) (i32.const 100) (i32.const 13) (i32.const 120) (i32.const 3)))
    (i32.const 0)))
`;

/** The plugin; `variant` changes its bytes (a data segment) without changing what it does. */
export async function wasmPlugin(variant = 'VARIANT'): Promise<Buffer> {
  const wabt = await wabtInit();
  const m = wabt.parseWat('plugin.wat', plugin.replace('"VARIANT"', JSON.stringify(variant)));
  try {
    return Buffer.from(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

export const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A ustar archive of the given files. */
export function tar(files: Record<string, Buffer>): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, body] of Object.entries(files)) {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100);
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h.write('0', 156);
    h.write('ustar\x0000', 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface Image {
  manifest: Buffer;
  mediaType: string;
  blobs: Buffer[];
  /** sha256 of the manifest, hex. */
  digest: string;
}

const descriptor = (mediaType: string, b: Buffer) => ({ mediaType, digest: `sha256:${sha256(b)}`, size: b.length });

/** An image of the "oci" variant: a config and the module as its own layer. */
export function ociVariantImage(module: Buffer): Image {
  const config = Buffer.from('{}');
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: descriptor('application/vnd.module.wasm.config.v1+json', config),
    layers: [descriptor('application/vnd.module.wasm.content.layer.v1+wasm', module), descriptor('application/vnd.module.wasm.content.layer.v1+wasm-metadata', config)],
  }));
  return { manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json', blobs: [config, module], digest: sha256(manifest) };
}

/** A Docker image of the "compat" variant: one tar.gz layer holding plugin.wasm. */
export function dockerImage(module: Buffer): Image {
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = gzipSync(tar({ 'plugin.wasm': module }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: descriptor('application/vnd.docker.container.image.v1+json', config),
    layers: [descriptor('application/vnd.docker.image.rootfs.diff.tar.gzip', layer)],
  }));
  return { manifest, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', blobs: [config, layer], digest: sha256(manifest) };
}

export interface Registry {
  port: number;
  host: string;
  /** repository → tag → image. */
  images: Map<string, Map<string, Image>>;
  /** Repositories needing `user:password` credentials. */
  private: Map<string, string>;
  /** Requests seen, `METHOD path`. */
  requests: string[];
  close(): Promise<void>;
}

/** A registry on 127.0.0.1 with a token service at /token (tokens are `t:<repository>`). */
export async function startRegistry(): Promise<Registry> {
  const images = new Map<string, Map<string, Image>>();
  const priv = new Map<string, string>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname === '/token') {
      const repo = /^repository:(.+):pull$/.exec(url.searchParams.get('scope') ?? '')?.[1] ?? '';
      const want = priv.get(repo);
      const given = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64').toString();
      if (want !== undefined && given !== want) return void res.writeHead(401).end();
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `t:${repo}` }));
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!m) return void res.writeHead(404).end();
    const [, repo, kind, ref] = m as unknown as [string, string, string, string];
    if (req.headers.authorization !== `Bearer t:${repo}`) {
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${host}/token",service="stand-in",scope="repository:${repo}:pull"` });
      return void res.end();
    }
    const tags = images.get(repo);
    const all = [...(tags?.values() ?? [])];
    if (kind === 'manifests') {
      const img = tags?.get(ref) ?? all.find((i) => `sha256:${i.digest}` === ref);
      if (!img) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': img.mediaType, 'docker-content-digest': `sha256:${img.digest}` }).end(img.manifest);
    }
    const blob = all.flatMap((i) => i.blobs).find((b) => `sha256:${sha256(b)}` === ref);
    if (!blob) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(blob);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const host = `localhost:${port}`;
  return {
    port, host, images, private: priv, requests,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

/** Serves bodies by path on 127.0.0.1, counting requests per path. */
export async function startFileServer(files: Map<string, Buffer>): Promise<{ url: (path: string) => string; hits: Map<string, number>; close(): Promise<void> }> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const b = files.get(path);
    if (!b) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/wasm' }).end(b);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits,
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
