// `egts proxy` with worker processes told to stop while requests are in flight and after its
// supervisor has gone (its stdout and stderr pipes closed, SIGTERM sent more than once): the
// requests complete through the drain and the proxy exits cleanly. Before, the first access log
// line written to the closed pipe killed a worker with EPIPE (resetting its requests), and a second
// SIGTERM killed the primary.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { startProxy } from './support.js';

const typed = (type: string, body: object = {}) => ({ '@type': `type.googleapis.com/${type}`, ...body });

let slow: http.Server;
let slowPort: number;
before(async () => {
  slow = http.createServer((_req, res) => setTimeout(() => res.end('slow ok'), 700));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
  slowPort = (slow.address() as { port: number }).port;
});
after(() => { slow.closeAllConnections(); slow.close(); });

function config(): object {
  return {
    staticResources: {
      clusters: [{
        name: 'slow', type: 'STATIC', connectTimeout: '1s',
        loadAssignment: { clusterName: 'slow', endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: '127.0.0.1', portValue: slowPort } } } }] }] },
      }],
      listeners: [{
        name: 'l',
        address: { socketAddress: { address: '127.0.0.1', portValue: 0 } },
        defaultFilterChain: {
          filters: [{
            name: 'envoy.filters.network.http_connection_manager',
            typedConfig: typed('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
              statPrefix: 'shutdown',
              // Envoy Gateway's default: access logs on the proxy's stdout.
              accessLog: [{ name: 'envoy.access_loggers.file', typedConfig: typed('envoy.extensions.access_loggers.file.v3.FileAccessLog', { path: '/dev/stdout' }) }],
              routeConfig: { name: 'rc', virtualHosts: [{ name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'slow' } }] }] },
              httpFilters: [{ name: 'envoy.filters.http.router', typedConfig: typed('envoy.extensions.filters.http.router.v3.Router') }],
            }),
          }],
        },
      }],
    },
  };
}

function get(port: number): Promise<string> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve(`${res.statusCode} ${body}`));
    }).on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
  });
}

test('requests in flight finish when the proxy is stopped after its supervisor went away', async () => {
  const p = await startProxy(config(), ['--concurrency', '2', '--drain-time-s', '5']);
  try {
    const exited = new Promise<number | string>((r) => p.proc.once('exit', (code, signal) => r(code ?? signal ?? '')));
    // Enough requests that each worker holds some.
    const inFlight = Array.from({ length: 6 }, () => get(p.ports['l']!));
    await new Promise((r) => setTimeout(r, 250));
    p.proc.stdout!.destroy();
    p.proc.stderr!.destroy();
    for (let i = 0; i < 3; i++) {
      p.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(await Promise.all(inFlight), Array(6).fill('200 slow ok'));
    assert.equal(await exited, 0);
  } finally {
    await p.close();
  }
});
