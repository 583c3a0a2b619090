// Certificates for TLS tests, made at test time with node-forge: a CA, and server or client
// certificates it signs for given DNS names. Written to a temporary folder as PEM files.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

export interface Pem { cert: string; key: string; certFile: string; keyFile: string }

const dir = mkdtempSync(join(tmpdir(), 'egts-certs-'));
let serial = 1;

function keyPair(): forge.pki.rsa.KeyPair {
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

function write(name: string, cert: forge.pki.Certificate, key: forge.pki.rsa.PrivateKey): Pem {
  const pem = { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(key) };
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  writeFileSync(certFile, pem.cert);
  writeFileSync(keyFile, pem.key);
  return { ...pem, certFile, keyFile };
}

export interface Ca extends Pem { issue(name: string, dnsNames: string[], client?: boolean): Pem }

export function makeCa(name = 'test-ca'): Ca {
  const keys = keyPair();
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = String(serial++).padStart(2, '0');
  cert.validity.notBefore = new Date(Date.now() - 86400_000);
  cert.validity.notAfter = new Date(Date.now() + 86400_000 * 30);
  const attrs = [{ name: 'commonName', value: name }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const pem = write(name, cert, keys.privateKey);
  return {
    ...pem,
    issue(leaf: string, dnsNames: string[], client = false): Pem {
      const k = keyPair();
      const c = forge.pki.createCertificate();
      c.publicKey = k.publicKey;
      c.serialNumber = String(serial++).padStart(2, '0');
      c.validity.notBefore = new Date(Date.now() - 86400_000);
      c.validity.notAfter = new Date(Date.now() + 86400_000 * 30);
      c.setSubject([{ name: 'commonName', value: dnsNames[0] ?? leaf }]);
      c.setIssuer(cert.subject.attributes);
      c.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: !client, clientAuth: client },
        { name: 'subjectAltName', altNames: dnsNames.map((d) => ({ type: 2, value: d })) },
      ]);
      c.sign(keys.privateKey, forge.md.sha256.create());
      return write(leaf, c, k.privateKey);
    },
  };
}
