import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validate } from '../../src/xds/proto/index.js';
import { envoyBootstrap } from '../../src/serve/envoy-bootstrap.js';
import { proxyCommand } from '../../src/serve/proxy-command.js';

const tls = { ca: '/h/certs/envoy/ca.crt', cert: '/h/certs/envoy/tls.crt', key: '/h/certs/envoy/tls.key' };
const infra = { name: 'default/eg', config: { spec: { shutdown: { drainTimeout: '30s' }, concurrency: 2 } } };

test('the Envoy bootstrap points at the xDS server over mTLS and is valid for Envoy', () => {
  const text = envoyBootstrap('default/eg', infra, { kind: 'envoy', xdsAddress: '127.0.0.1:18000', tls, home: '/h' });
  const b = JSON.parse(text);
  assert.equal(b.node.cluster, 'default/eg');
  const xds = b.staticResources.clusters.find((c: any) => c.name === 'xds_cluster');
  assert.equal(xds.transportSocket.typedConfig.commonTlsContext.tlsCertificates[0].certificateChain.filename, tls.cert);
  assert.equal(b.admin.address.socketAddress.portValue, 0);
  assert.deepEqual(validate('envoy.config.bootstrap.v3.Bootstrap', b), []);
});

test('proxy commands carry the EnvoyProxy settings as flags, for both proxies', () => {
  const builtin = proxyCommand('default/eg', infra, { kind: 'builtin', xdsAddress: '127.0.0.1:18000', tls, home: '/h' });
  assert.equal(builtin.command, process.execPath);
  const args = builtin.args.join(' ');
  assert.match(args, /proxy --xds-server 127\.0\.0\.1:18000 --xds-protocol delta --service-cluster default\/eg --service-node egts-proxy-default-eg --drain-time-s 30 --concurrency 2/);
  assert.match(args, /--xds-ca \/h\/certs\/envoy\/ca\.crt --xds-cert \S+ --xds-key \S+ --xds-server-name localhost/);
});
