// The server the proxies fetch cached Wasm modules from (Envoy Gateway's port 18002): HTTPS with
// client certificates (mTLS with the control plane's CA), HTTP/2 (the wasm_cluster's protocol) or
// HTTP/1.1. GET /<serving name> sends the module; anything else is 404.
import { createReadStream } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface WasmServerTLS {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export class WasmModuleServer {
  private server: http2.Http2SecureServer | undefined;
  private readonly sockets = new Set<import('node:tls').TLSSocket>();

  constructor(private readonly fileFor: (path: string) => string | undefined, private readonly tls: { cert: Buffer; key: Buffer; ca: Buffer }) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = http2.createSecureServer({ ...this.tls, requestCert: true, rejectUnauthorized: true, allowHTTP1: true }, (req, res) => {
      // Serving names are base64url: nothing to decode, and a malformed path is simply not found.
      const file = req.method === 'GET' || req.method === 'HEAD' ? this.fileFor((req.url ?? '/').split('?')[0]!.slice(1)) : undefined;
      if (!file) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      const stream = createReadStream(file);
      stream.once('open', () => {
        res.writeHead(200, { 'content-type': 'application/wasm' });
        if (req.method === 'HEAD') {
          stream.destroy();
          res.end();
        } else stream.pipe(res);
      });
      stream.once('error', () => {
        if (!res.headersSent) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        else res.destroy();
      });
    });
    server.on('sessionError', () => undefined);
    server.on('tlsClientError', () => undefined);
    server.on('secureConnection', (sock) => {
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    // Proxies hold their connections open: end them too.
    for (const sock of this.sockets) sock.destroy();
    await closed;
  }
}
