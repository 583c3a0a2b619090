import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import { once } from 'node:events';
import { certificatePaths, checkCertificates, ensureCertificates, generateCertificates, writeCertificates } from '../../src/infra/certgen.js';
import { repoRoot } from '../support/corpus.js';

const set = generateCertificates({ serverNames: ['localhost', '127.0.0.1'] });

test('the CA signs a server and a client certificate with the right names and uses', () => {
  const ca = new X509Certificate(set.ca);
  assert.equal(ca.ca, true);
  const server = new X509Certificate(set.server.cert);
  const client = new X509Certificate(set.client.cert);
  assert.ok(server.verify(ca.publicKey));
  assert.ok(client.verify(ca.publicKey));
  assert.equal(server.ca, false);
  assert.ok(server.checkHost('localhost'));
  assert.ok(server.checkIP('127.0.0.1'));
  assert.match(client.subject, /CN=envoy/);
  assert.ok(server.keyUsage?.includes('1.3.6.1.5.5.7.3.1'));
  assert.ok(client.keyUsage?.includes('1.3.6.1.5.5.7.3.2'));
});

test('the certificates carry a real mTLS handshake, and a client without one is refused', async () => {
  const server = tls.createServer({ ca: set.ca, cert: set.server.cert, key: set.server.key, requestCert: true, rejectUnauthorized: true }, (s) => s.end('hello'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: set.ca, cert: set.client.cert, key: set.client.key });
    const chunks: Buffer[] = [];
    c.on('data', (d) => chunks.push(d));
    await once(c, 'end');
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
    assert.equal(c.authorized, true);
    const anon = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: set.ca });
    const outcome = await new Promise<string>((resolve) => {
      anon.on('error', (e) => resolve(`error: ${e.message}`));
      anon.on('data', () => resolve('data'));
      anon.on('end', () => resolve('end'));
    });
    assert.notEqual(outcome, 'data');
    anon.destroy();
  } finally {
    server.close();
  }
});

test('ensureCertificates keeps good certificates and replaces bad ones', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-certs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const paths = writeCertificates(dir, set);
  assert.equal(checkCertificates(dir), undefined);
  assert.equal(ensureCertificates(dir).generated, false);
  assert.match(checkCertificates(dir, { now: new Date(Date.now() + 5 * 365 * 86_400_000) }) ?? '', /expires/);
  writeFileSync(paths.client.cert, generateCertificates().client.cert);
  assert.match(checkCertificates(dir) ?? '', /not signed by/);
  const again = ensureCertificates(dir);
  assert.equal(again.generated, true);
  assert.equal(checkCertificates(dir), undefined);
  assert.equal(readFileSync(certificatePaths(dir).client.ca, 'utf8'), readFileSync(certificatePaths(dir).server.ca, 'utf8'));
});

test('egts certgen writes the files and keeps them on a second run', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'egts-certgen-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const egts = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'certgen', ...args], { encoding: 'utf8' });
  const first = egts('--out', dir);
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stdout, /wrote/);
  assert.equal(checkCertificates(dir, { serverNames: ['localhost'] }), undefined);
  const second = egts('--out', dir);
  assert.match(second.stdout, /already/);
  assert.equal(egts('--days', 'x').status, 2);
});
