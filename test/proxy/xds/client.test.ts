// The proxy's ADS client against our ADS server on loopback, in both protocols.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { AdsClient, type ResourceUpdate } from '../../../src/proxy/xds/index.js';
import { TYPE_URL } from '../../../src/xds/proto/index.js';
import type { Nack } from '../../../src/xds/server/connection.js';
import { XdsServer } from '../../../src/xds/server/server.js';
import { cluster, endpoints, listener, route, snapshot } from '../../xds/server/fixtures.js';

const servers: XdsServer[] = [];
const clients: AdsClient[] = [];
after(async () => {
  for (const c of clients) c.stop();
  for (const s of servers) await s.close();
});

async function startServer(port = 0): Promise<{ server: XdsServer; port: number }> {
  const server = new XdsServer({ warn: () => {} });
  servers.push(server);
  return { server, port: await server.listen(`127.0.0.1:${port}`) };
}

/** Collects applied updates; `reject` decides which to refuse. */
function recorder(reject: (u: ResourceUpdate) => string | undefined = () => undefined) {
  const updates: ResourceUpdate[] = [];
  const waiters: Array<{ pred: (u: ResourceUpdate) => boolean; resolve: (u: ResourceUpdate) => void }> = [];
  return {
    updates,
    apply(u: ResourceUpdate): string | undefined {
      const error = reject(u);
      if (!error) {
        updates.push(u);
        for (const w of waiters.splice(0)) {
          if (w.pred(u)) w.resolve(u);
          else waiters.push(w);
        }
      }
      return error;
    },
    next(pred: (u: ResourceUpdate) => boolean, ms = 3000): Promise<ResourceUpdate> {
      const seen = updates.find(pred);
      if (seen) {
        updates.splice(updates.indexOf(seen), 1);
        return Promise.resolve(seen);
      }
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('no such update')), ms);
        waiters.push({ pred, resolve: (u) => { clearTimeout(t); updates.splice(updates.indexOf(u), 1); resolve(u); } });
      });
    },
  };
}

const config = {
  clusters: [cluster('c1'), cluster('c2')],
  endpoints: [endpoints('c1', 8001), endpoints('c2', 8002)],
  listeners: [listener('l1', 10080)],
  routes: [route('l1', 'c1')],
};

const names = (u: ResourceUpdate) => u.resources.map((r) => r.name);
const ofType = (t: string) => (u: ResourceUpdate) => u.typeUrl === t;

for (const protocol of ['sotw', 'delta'] as const) {
  test(`${protocol}: subscribes, applies, ACKs; NACKs what it cannot apply with its message`, async () => {
    const { server, port } = await startServer();
    server.cache.set('gw/1', snapshot('1', config));
    const rec = recorder((u) => (u.typeUrl === TYPE_URL.listener && u.resources.some((r) => r.name === 'bad') ? 'Listener "bad": port 1 is reserved' : undefined));
    const client = new AdsClient({ server: `127.0.0.1:${port}`, node: { id: 'p1', cluster: 'gw/1' }, protocol, apply: (u) => rec.apply(u) });
    clients.push(client);
    client.start();
    const cds = await rec.next(ofType(TYPE_URL.cluster));
    assert.deepEqual(names(cds), ['c1', 'c2']);
    assert.equal(cds.resources[0]!.resource['connectTimeout'], '5s');
    assert.deepEqual(names(await rec.next(ofType(TYPE_URL.listener))), ['l1']);
    client.subscribe(TYPE_URL.endpoint, ['c1']);
    client.subscribe(TYPE_URL.route, ['l1']);
    assert.deepEqual(names(await rec.next(ofType(TYPE_URL.endpoint))), ['c1']);
    assert.deepEqual(names(await rec.next(ofType(TYPE_URL.route))), ['l1']);
    await waitFor(() => server.connections()[0]?.types.get(TYPE_URL.route)?.ackedVersion !== undefined);

    const nacked = once(server, 'nack') as Promise<[unknown, Nack]>;
    server.cache.set('gw/1', snapshot('2', { ...config, listeners: [listener('l1', 10080), listener('bad', 1)] }));
    const [, nack] = await nacked;
    assert.equal(nack.message, 'Listener "bad": port 1 is reserved');
    assert.equal(client.state().find((s) => s.typeUrl === TYPE_URL.listener)?.names.join(), 'l1', 'keeps the last good listeners');

    server.cache.set('gw/1', snapshot('3', { ...config, listeners: [listener('l1', 10080), listener('good', 10090)] }));
    const lds = await rec.next(ofType(TYPE_URL.listener));
    assert.deepEqual(names(lds).sort(), protocol === 'sotw' ? ['good', 'l1'] : ['good']); // delta: l1 never changed
    client.stop();
  });

  test(`${protocol}: a resource that breaks Envoy's rules is NACKed naming it and the field`, async () => {
    const { server, port } = await startServer();
    server.cache.set('gw/2', snapshot('1', { clusters: [cluster('c1'), cluster('zero', '0s')] }));
    const client = new AdsClient({ server: `127.0.0.1:${port}`, node: { id: 'p2', cluster: 'gw/2' }, protocol, apply: () => undefined });
    clients.push(client);
    const nacked = once(client, 'nack') as Promise<[string, string, string]>;
    client.start();
    const [typeUrl, , message] = await nacked;
    assert.equal(typeUrl, TYPE_URL.cluster);
    assert.match(message, /^Cluster "zero": connectTimeout: must be greater than 0s, got "0s" \(duration\.gt\)$/);
    await waitFor(() => server.connections()[0]?.types.get(TYPE_URL.cluster)?.lastNack !== undefined);
    client.stop();
  });

  test(`${protocol}: reconnects after the server restarts, resuming from what it holds`, async () => {
    const first = await startServer();
    first.server.cache.set('gw/3', snapshot('1', config));
    const rec = recorder();
    const client = new AdsClient({
      server: `127.0.0.1:${first.port}`, node: { id: 'p3', cluster: 'gw/3' }, protocol, backoff: { initialMs: 50, maxMs: 200 }, apply: (u) => rec.apply(u),
    });
    clients.push(client);
    client.start();
    await rec.next(ofType(TYPE_URL.cluster));
    await waitFor(() => first.server.connections()[0]?.types.get(TYPE_URL.cluster)?.ackedVersion !== undefined);
    await first.server.close();
    const second = await startServer(first.port);
    second.server.cache.set('gw/3', snapshot('2', { ...config, clusters: [cluster('c1'), cluster('c2'), cluster('c3')] }));
    const cds = await rec.next(ofType(TYPE_URL.cluster), 5000);
    // SotW sends the whole set; delta only what the client did not already hold.
    assert.deepEqual(names(cds), protocol === 'sotw' ? ['c1', 'c2', 'c3'] : ['c3']);
    client.stop();
  });
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
