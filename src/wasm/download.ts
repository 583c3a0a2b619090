// Downloading for the Wasm cache: bounded in time and size, a failure retried a few times when it
// may be passing (network errors, 5xx, 429), and a check that what came is a Wasm binary.

export interface DownloadOptions {
  /** The HTTP client (the global fetch by default). */
  fetch?: typeof fetch;
  /** The whole download, retries included, must end by then. */
  signal: AbortSignal;
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  headers?: Record<string, string>;
  /** Attempts for a passing failure (default 3). */
  attempts?: number;
}

export class DownloadError extends Error {
  constructor(message: string, readonly status?: number, readonly response?: Response) {
    super(message);
  }
}

/** GETs a URL and returns the response; a non-2xx answer is a DownloadError carrying it. */
export async function get(url: string, o: DownloadOptions): Promise<Response> {
  const attempts = o.attempts ?? 3;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i) await new Promise((r) => setTimeout(r, 200 * 2 ** i).unref());
    try {
      const res = await (o.fetch ?? fetch)(url, { headers: o.headers, signal: o.signal, redirect: 'follow' });
      if (res.ok) return res;
      await res.body?.cancel();
      const err = new DownloadError(`GET ${url}: HTTP ${res.status}`, res.status, res);
      if (res.status < 500 && res.status !== 429) throw err;
      last = err;
    } catch (err) {
      if (err instanceof DownloadError && err.status !== undefined && err.status < 500 && err.status !== 429) throw err;
      if (o.signal.aborted) throw new DownloadError(`GET ${url}: timed out`);
      last = err;
    }
  }
  throw last instanceof DownloadError ? last : new DownloadError(`GET ${url}: ${describe(last)}`);
}

/** The body of a response, refused once it passes maxBytes. */
export async function readBody(res: Response, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw new DownloadError(`${url}: ${declared} bytes is more than the ${maxBytes} allowed`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += (chunk as Uint8Array).byteLength;
    if (size > maxBytes) throw new DownloadError(`${url}: more than the ${maxBytes} bytes allowed`);
    chunks.push(Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks, size);
}

/** Fetches a module over HTTP(S). */
export async function downloadModule(url: string, o: DownloadOptions): Promise<Buffer> {
  return readBody(await get(url, o), url, o.maxBytes);
}

/** A Wasm binary starts with "\0asm" and version 1. */
export function isWasmBinary(b: Uint8Array): boolean {
  return b.length >= 8 && b[0] === 0 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d && b[4] === 1 && b[5] === 0 && b[6] === 0 && b[7] === 0;
}

export function describe(err: unknown): string {
  const e = err as Error & { cause?: Error & { code?: string } };
  const cause = e?.cause;
  return cause ? `${e.message}: ${cause.code ?? cause.message}` : String(e?.message ?? err);
}
