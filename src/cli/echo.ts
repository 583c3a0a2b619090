// `egts echo`: a backend for tests and demos that answers with what it received and its own name.
// HTTP/1.1 and h2c on one port (HTTP/2 by prior knowledge), HTTPS with HTTP/2 by ALPN (and client
// certificate checks when given a CA), gRPC (any method, JSON messages), WebSocket (echo), TCP
// and UDP (each chunk/datagram echoed back prefixed with "<name>:").
//
// Requests can ask for behaviour through headers, so that timeouts and retries can be tested:
//   x-echo-delay-ms: N      answer after N ms            x-echo-status: N     answer with status N
//   x-echo-reset: 1         close the connection         x-echo-set-header: k: v (repeatable)
//   x-echo-body-bytes: N    an N-byte body               x-echo-fail-times: N + x-echo-fail-key: k
//                           (the first N requests with key k get 503, or a reset with x-echo-fail-mode: reset)
// GET /__echo/requests returns the last 100 requests received (mirroring tests look there).
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const USAGE = `usage: egts echo [--name <name>] [--http <port>] [--https <port> --cert <pem> --key <pem> [--ca <pem>]]
                 [--tcp <port>] [--tls-tcp <port>] [--udp <port>] [--unix <path>] [--host <addr>] [--status <code>]

Ports may be 0 (any free port). The bound ports are printed on stdout as one JSON line.
--status sets the status of every answer that x-echo-status does not set (an unhealthy backend).`;

/** The status answered when the request does not ask for one (--status). */
let defaultStatus = 200;

const failCounts = new Map<string, number>();
/** The last requests received, for tests that need to see what a backend got (GET /__echo/requests). */
const recent: Received[] = [];

interface Received {
  path: string;
  host: string;
  method: string;
  proto: string;
  headers: Record<string, string[]>;
  pod: string;
  backend: string;
  body: string;
  tls?: { sni: string; alpn: string; peerCertificateSubject?: string };
}

function headerMap(raw: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!.toLowerCase();
    (out[k] ??= []).push(raw[i + 1]!);
  }
  return out;
}

/** Decides how to answer from x-echo-* headers; returns false when the connection was reset. */
function directives(headers: Record<string, string[]>, reset: () => void): { delay: number; status: number; extra: [string, string][]; bodyBytes: number } | false {
  const one = (k: string) => headers[k]?.[0];
  const key = one('x-echo-fail-key');
  const times = Number(one('x-echo-fail-times') ?? 0);
  let status = Number(one('x-echo-status') ?? defaultStatus) || defaultStatus;
  if (key && times > 0) {
    const n = (failCounts.get(key) ?? 0) + 1;
    failCounts.set(key, n);
    if (n <= times) {
      if (one('x-echo-fail-mode') === 'reset') { reset(); return false; }
      status = 503;
    }
  }
  if (one('x-echo-reset')) { reset(); return false; }
  const extra: [string, string][] = [];
  for (const v of headers['x-echo-set-header'] ?? []) {
    const i = v.indexOf(':');
    if (i > 0) extra.push([v.slice(0, i).trim(), v.slice(i + 1).trim()]);
  }
  return { delay: Number(one('x-echo-delay-ms') ?? 0), status, extra, bodyBytes: Number(one('x-echo-body-bytes') ?? -1) };
}

function handleHttp(name: string, req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const headers = headerMap(req.rawHeaders);
    const socket = (req as http.IncomingMessage).socket as tls.TLSSocket;
    const d = directives(headers, () => { res.destroy(); socket?.destroy?.(); });
    if (!d) return;
    if (req.url === '/__echo/requests') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(recent));
      return;
    }
    const isGrpc = (headers['content-type']?.[0] ?? '').startsWith('application/grpc');
    const received: Received = {
      path: req.url ?? '',
      host: (headers[':authority']?.[0] ?? headers.host?.[0] ?? ''),
      method: req.method ?? '',
      proto: req.httpVersion === '2.0' ? 'HTTP/2.0' : `HTTP/${req.httpVersion}`,
      headers,
      pod: name,
      backend: name,
      body: Buffer.concat(chunks).toString('utf8').slice(0, 65536),
    };
    recent.push(received);
    if (recent.length > 100) recent.shift();
    if (socket && socket.encrypted) {
      const peer = socket.getPeerCertificate?.();
      received.tls = { sni: (socket as unknown as { servername?: string }).servername ?? '', alpn: String(socket.alpnProtocol ?? ''), peerCertificateSubject: String(peer?.subject?.CN ?? '') };
    }
    setTimeout(() => {
      if (res.destroyed || (res as http.ServerResponse).writableEnded) return;
      if (isGrpc) { grpcReply(res as http2.Http2ServerResponse, received, d.extra); return; }
      let body: Buffer = Buffer.from(JSON.stringify(received));
      if (d.bodyBytes >= 0) body = Buffer.alloc(d.bodyBytes, 'x');
      res.statusCode = d.status;
      res.setHeader('content-type', d.bodyBytes >= 0 ? 'application/octet-stream' : 'application/json');
      res.setHeader('x-echo-backend', name);
      for (const [k, v] of d.extra) res.setHeader(k, v);
      res.setHeader('content-length', body.length);
      if (req.method === 'HEAD') res.end(); else res.end(body);
    }, d.delay);
  });
}

/** gRPC: the response message is the JSON of what was received (clients use JSON codecs). */
function grpcReply(res: http2.Http2ServerResponse, received: Received, extra: [string, string][]): void {
  const msg = Buffer.from(JSON.stringify({ ...received, body: undefined, service: received.path.split('/')[1], method: received.path.split('/')[2] }));
  const frame = Buffer.alloc(5 + msg.length);
  frame.writeUInt32BE(msg.length, 1);
  msg.copy(frame, 5);
  res.writeHead(200, { 'content-type': 'application/grpc', 'x-echo-backend': received.backend, ...Object.fromEntries(extra) });
  res.addTrailers({ 'grpc-status': '0', 'grpc-message': '' });
  res.end(frame);
}

function attachWebSocket(name: string, server: http.Server | https.Server): void {
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    ws.send(JSON.stringify({ backend: name, path: req.url, host: req.headers.host, headers: headerMap(req.rawHeaders) }));
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
}

async function listen(server: net.Server, port: number, host: string | undefined): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

export async function run(argv: string[]): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    ({ values: v } = parseArgs({ args: argv, options: {
      name: { type: 'string' }, http: { type: 'string' }, https: { type: 'string' }, cert: { type: 'string' }, key: { type: 'string' },
      ca: { type: 'string' }, tcp: { type: 'string' }, 'tls-tcp': { type: 'string' }, udp: { type: 'string' }, unix: { type: 'string' },
      host: { type: 'string' }, status: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    } }));
  } catch (err) {
    console.error(`egts echo: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (v.help) { console.log(USAGE); return 0; }
  const name = (v.name as string | undefined) ?? `echo-${process.pid}`;
  if (v.status) defaultStatus = Number(v.status) || 200;
  const host = v.host as string | undefined;
  const ports: Record<string, number | string> = {};
  const handler = (req: http.IncomingMessage | http2.Http2ServerRequest, res: http.ServerResponse | http2.Http2ServerResponse) => handleHttp(name, req, res);

  const plain = (port: number | undefined, path?: string) => {
    // HTTP/1.1 and h2c share the port: the client's first bytes decide.
    const h1 = http.createServer(handler as http.RequestListener);
    h1.keepAliveTimeout = 60_000;
    attachWebSocket(name, h1);
    const h2 = http2.createServer({}, handler as never);
    const preface = 'PRI * HTTP/2.0';
    const server = net.createServer((socket) => {
      socket.once('data', (d) => {
        socket.pause();
        socket.unshift(d);
        // HTTP/2 reads the buffered bytes itself; resuming would hand them to nobody.
        if (d.toString('latin1', 0, preface.length) === preface) h2.emit('connection', socket);
        else { h1.emit('connection', socket); socket.resume(); }
      });
    });
    return { server, port, path };
  };
  if (v.http !== undefined) {
    const p = plain(Number(v.http));
    ports.http = await listen(p.server, p.port!, host);
  }
  if (v.unix) {
    const p = plain(undefined);
    await new Promise<void>((resolve, reject) => { p.server.once('error', reject); p.server.listen(v.unix as string, () => resolve()); });
    ports.unix = v.unix as string;
  }
  if (v.https !== undefined || v['tls-tcp'] !== undefined) {
    if (!v.cert || !v.key) { console.error('egts echo: --https and --tls-tcp need --cert and --key'); return 2; }
  }
  const tlsOpts = v.cert ? {
    cert: readFileSync(v.cert as string), key: readFileSync(v.key as string),
    ...(v.ca ? { ca: readFileSync(v.ca as string), requestCert: true, rejectUnauthorized: true } : {}),
  } : undefined;
  if (v.https !== undefined) {
    const s = http2.createSecureServer({ ...tlsOpts!, allowHTTP1: true }, handler as never);
    // WebSocket over HTTPS/1.1 upgrades.
    const wss = new WebSocketServer({ noServer: true });
    s.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket as net.Socket, head, (ws) => {
      ws.send(JSON.stringify({ backend: name, path: req.url, host: req.headers.host }));
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    }));
    ports.https = await listen(s, Number(v.https), host);
  }
  if (v.tcp !== undefined) {
    const s = net.createServer((c) => { c.on('data', (d) => c.write(Buffer.concat([Buffer.from(`${name}:`), d]))); c.on('error', () => {}); });
    ports.tcp = await listen(s, Number(v.tcp), host);
  }
  if (v['tls-tcp'] !== undefined) {
    const s = tls.createServer(tlsOpts!, (c) => {
      c.on('data', (d) => c.write(Buffer.concat([Buffer.from(`${name}:${c.servername ?? ''}:`), d])));
      c.on('error', () => {});
    });
    ports.tlsTcp = await listen(s, Number(v['tls-tcp']), host);
  }
  if (v.udp !== undefined) {
    const s = dgram.createSocket(host?.includes(':') ? 'udp6' : 'udp4');
    s.on('message', (msg, rinfo) => s.send(Buffer.concat([Buffer.from(`${name}:`), msg]), rinfo.port, rinfo.address));
    await new Promise<void>((resolve) => s.bind(Number(v.udp), host ?? '127.0.0.1', () => resolve()));
    ports.udp = s.address().port;
  }
  process.stdout.write(`${JSON.stringify({ name, ...ports })}\n`);
  await new Promise<void>((resolve) => { process.once('SIGTERM', resolve); process.once('SIGINT', resolve); });
  // Open servers and client connections would keep the process alive.
  process.exit(0);
}
