// Wasm modules packaged as OCI images, pulled with the registry's HTTP API (OCI distribution v2):
// the manifest (whose digest is the image's checksum), then the layer holding the module. Three
// packagings are understood, as Envoy Gateway reads them: a Docker image whose last layer is a
// tar.gz holding plugin.wasm, the same as an OCI image layer ("compat" variant), and the "oci"
// variant with two layers, one of media type application/vnd.module.wasm.content.layer.v1+wasm
// (the module itself). Registries are reached anonymously or with the credentials of a
// `kubernetes.io/dockerconfigjson` pull secret, through the bearer token flow or basic auth.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { DownloadError, describe, get, readBody, type DownloadOptions } from './download.js';

export interface ImageReference {
  /** The host (and port) of the registry, as in the image name (docker.io for Docker Hub). */
  registry: string;
  repository: string;
  /** A tag or a `sha256:` digest. */
  reference: string;
}

const defaultRegistry = 'docker.io';

/** Parses `[oci://]host[:port]/path[:tag][@sha256:hex]` as image names are read (Docker Hub by default). */
export function parseImageReference(url: string): ImageReference {
  let rest = url.replace(/^oci:\/\//, '');
  let reference = 'latest';
  const at = rest.indexOf('@');
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!/^sha256:[0-9a-f]{64}$/.test(reference)) throw new Error(`invalid digest "${reference}" in image ${url}`);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    if (at < 0) reference = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const first = rest.split('/')[0]!;
  // The first component names a registry when it looks like a host: a dot, a port or localhost.
  let registry = defaultRegistry;
  let repository = rest;
  if (rest.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    repository = rest.slice(first.length + 1);
  }
  if (registry === defaultRegistry && !repository.includes('/')) repository = `library/${repository}`;
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) throw new Error(`invalid repository name "${repository}" in image ${url}`);
  if (!/^[\w][\w.-]{0,127}$/.test(reference) && !reference.startsWith('sha256:')) throw new Error(`invalid tag "${reference}" in image ${url}`);
  return { registry, repository, reference };
}

interface Credentials {
  username?: string;
  password?: string;
  /** A bearer token for the registry itself. */
  registryToken?: string;
}

const dockerHubAliases = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/** The credentials a docker config (`.dockerconfigjson`) holds for a registry. */
export function credentialsFor(dockerConfig: string, registry: string): Credentials | undefined {
  let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string; registrytoken?: string }> };
  try {
    doc = JSON.parse(dockerConfig);
  } catch {
    throw new Error('the pull secret is not valid JSON');
  }
  const host = (k: string) => k.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  const same = (k: string) => host(k) === registry || (dockerHubAliases.has(host(k)) && dockerHubAliases.has(registry));
  const entry = Object.entries(doc?.auths ?? {}).find(([k]) => same(k))?.[1];
  if (!entry) return undefined;
  if (entry.registrytoken) return { registryToken: entry.registrytoken };
  if (entry.username || entry.password) return { username: entry.username, password: entry.password };
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = plain.indexOf(':');
    return { username: plain.slice(0, i < 0 ? undefined : i), password: i < 0 ? '' : plain.slice(i + 1) };
  }
  return undefined;
}

const manifestTypes = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const dockerManifest = 'application/vnd.docker.distribution.manifest.v2+json';
const dockerLayer = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const ociLayer = 'application/vnd.oci.image.layer.v1.tar+gzip';
const wasmLayer = 'application/vnd.module.wasm.content.layer.v1+wasm';

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
}
interface Manifest {
  mediaType?: string;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

/** An image's manifest digest (hex), and a way to fetch its module afterwards. */
export interface PreparedImage {
  digest: string;
  module(): Promise<Buffer>;
}

export interface PullOptions extends DownloadOptions {
  /** The `.dockerconfigjson` of the pull secret. */
  pullSecret?: string;
}

/** One registry session: the bearer token got for the repository is reused for its blobs. */
class Registry {
  private authorization: string | undefined;
  private readonly base: string;

  constructor(private readonly image: ImageReference, private readonly o: PullOptions) {
    const host = image.registry === defaultRegistry ? 'registry-1.docker.io' : image.registry;
    // A registry on this machine speaks plain HTTP, as container tools assume; others HTTPS.
    const local = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/.test(host) || /\.localhost(:\d+)?$/.test(host);
    this.base = `${local ? 'http' : 'https'}://${host}`;
  }

  async get(path: string, accept?: string): Promise<Response> {
    const url = `${this.base}/v2/${this.image.repository}/${path}`;
    const headers: Record<string, string> = {};
    if (accept) headers.accept = accept;
    for (let round = 0; ; round++) {
      if (this.authorization) headers.authorization = this.authorization;
      try {
        return await get(url, { ...this.o, headers });
      } catch (err) {
        if (!(err instanceof DownloadError) || err.status !== 401 || round > 0) throw err;
        this.authorization = await this.authorize(err.response?.headers.get('www-authenticate') ?? '', url);
      }
    }
  }

  /** Answers the registry's challenge: a token from its token service, or basic auth. */
  private async authorize(challenge: string, url: string): Promise<string> {
    const creds = this.o.pullSecret ? credentialsFor(this.o.pullSecret, this.image.registry) : undefined;
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const basic = creds?.username !== undefined ? `Basic ${Buffer.from(`${creds.username}:${creds.password ?? ''}`).toString('base64')}` : undefined;
    const scheme = /^\s*(\w+)/.exec(challenge)?.[1]?.toLowerCase();
    if (scheme === 'basic') {
      if (!basic) throw new DownloadError(`GET ${url}: the registry asks for credentials and none are given`);
      return basic;
    }
    if (scheme !== 'bearer') throw new DownloadError(`GET ${url}: HTTP 401 without a usable WWW-Authenticate challenge`);
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) throw new DownloadError(`GET ${url}: the bearer challenge names no realm`);
    const tokenURL = new URL(params.realm);
    if (params.service) tokenURL.searchParams.set('service', params.service);
    tokenURL.searchParams.set('scope', params.scope ?? `repository:${this.image.repository}:pull`);
    const res = await get(tokenURL.href, { ...this.o, headers: basic ? { authorization: basic } : {} });
    const body = JSON.parse((await readBody(res, tokenURL.href, 1 << 20)).toString('utf8')) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new DownloadError(`${tokenURL.origin}${tokenURL.pathname}: no token in the answer`);
    return `Bearer ${token}`;
  }

  /** A blob, checked against its digest. */
  async blob(d: Descriptor, maxBytes: number): Promise<Buffer> {
    if ((d.size ?? 0) > maxBytes) throw new Error(`layer ${d.digest} is ${d.size} bytes, more than the ${maxBytes} allowed`);
    const b = await readBody(await this.get(`blobs/${d.digest}`), d.digest, maxBytes);
    const got = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    if (d.digest.startsWith('sha256:') && got !== d.digest) throw new Error(`blob ${d.digest} has digest ${got}`);
    return b;
  }
}

/** Fetches an image's manifest (following an index to its first manifest), without its layers yet. */
export async function prepareImage(url: string, o: PullOptions): Promise<PreparedImage> {
  const image = parseImageReference(url);
  const registry = new Registry(image, o);
  const manifestOf = async (ref: string): Promise<{ digest: string; manifest: Manifest; mediaType: string }> => {
    let res: Response;
    try {
      res = await registry.get(`manifests/${ref}`, manifestTypes.join(', '));
    } catch (err) {
      throw new Error(`could not fetch manifest: ${describe(err)}`);
    }
    const raw = await readBody(res, `manifest ${ref}`, 4 << 20);
    const manifest = JSON.parse(raw.toString('utf8')) as Manifest;
    const mediaType = manifest.mediaType ?? res.headers.get('content-type')?.split(';')[0] ?? '';
    return { digest: createHash('sha256').update(raw).digest('hex'), manifest, mediaType };
  };
  let m = await manifestOf(image.reference);
  if (m.manifest.manifests) {
    // An index: the manifest for wasm (or any platform, Wasm being portable), first found.
    const list = m.manifest.manifests;
    const pick = list.find((d) => d.platform?.os === 'wasip1' || d.platform?.architecture === 'wasm') ?? list[0];
    if (!pick) throw new Error('the image index lists no manifest');
    m = await manifestOf(pick.digest);
  }
  const { manifest, mediaType, digest } = m;
  return {
    digest,
    async module() {
      const layers = manifest.layers ?? [];
      const last = layers[layers.length - 1];
      if (!last) throw new Error('number of layers must be greater than zero');
      if (mediaType === dockerManifest || last.mediaType === ociLayer) {
        const expected = mediaType === dockerManifest ? dockerLayer : ociLayer;
        if (last.mediaType !== expected) throw new Error(`invalid media type ${last.mediaType} (expect ${expected})`);
        return pluginFromTarGz(await registry.blob(last, o.maxBytes), o.maxBytes);
      }
      if (layers.length !== 2) throw new Error(`the given image is in invalid format as an OCI image: number of layers must be 2 but got ${layers.length}`);
      const layer = layers.find((l) => l.mediaType === wasmLayer);
      if (!layer) throw new Error(`could not find the layer of type ${wasmLayer}`);
      return registry.blob(layer, o.maxBytes);
    },
  };
}

const pluginFile = 'plugin.wasm';

/**
 * plugin.wasm out of a tar.gz layer. A reader of its own: one regular file is looked for, walking
 * the 512-byte tar headers (ustar prefix, GNU long names and PAX paths understood).
 */
export function pluginFromTarGz(gz: Buffer, maxBytes: number): Buffer {
  let tar: Buffer;
  try {
    tar = gunzipSync(gz, { maxOutputLength: maxBytes + (1 << 20) });
  } catch (err) {
    throw new Error(`failed to parse layer as tar.gz: ${(err as Error).message}`);
  }
  const text = (b: Buffer) => {
    const end = b.indexOf(0);
    return b.subarray(0, end < 0 ? b.length : end).toString('utf8');
  };
  let longName: string | undefined;
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = parseInt(text(h.subarray(124, 136)).trim() || '0', 8);
    const type = String.fromCharCode(h[156]!);
    const body = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = text(body);
      continue;
    }
    if (type === 'x') {
      longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1] ?? longName;
      continue;
    }
    const prefix = text(h.subarray(345, 500));
    const name = longName ?? (prefix ? `${prefix}/${text(h.subarray(0, 100))}` : text(h.subarray(0, 100)));
    longName = undefined;
    if ((type === '0' || type === '\0') && name.split('/').pop() === pluginFile) {
      if (body.length !== size) throw new Error(`failed to read ${pluginFile}: truncated archive`);
      return Buffer.from(body);
    }
  }
  throw new Error(`${pluginFile} not found in the archive`);
}
