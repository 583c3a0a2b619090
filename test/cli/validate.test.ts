// `egts validate`, run as a user would: files and directories in, placed problems out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot } from '../support/corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'egts-validate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const egts = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), 'validate', ...args], { encoding: 'utf8' });

describe('egts validate', () => {
  it('admits valid manifests (exit 0) and names the place of each problem (exit 1)', () => {
    writeFileSync(
      join(dir, 'good.yaml'),
      'apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: eg\nspec:\n  controllerName: gateway.envoyproxy.io/gatewayclass-controller\n',
    );
    const ok = egts(join(dir, 'good.yaml'));
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stderr, /1 resources, 1 admitted, 0 rejected/);
    mkdirSync(join(dir, 'more'));
    writeFileSync(
      join(dir, 'more', 'bad.yaml'),
      'apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\n  namespace: ns\nspec:\n  hostnamez: []\n---\nkind: [\n',
    );
    const bad = egts(dir);
    assert.equal(bad.status, 1);
    const lines = bad.stdout.trim().split('\n');
    assert.equal(lines[0], `${join(dir, 'more', 'bad.yaml')}:7 (document 1) HTTPRoute ns/r: spec.hostnamez: unknown field`);
    assert.match(lines[1]!, /bad\.yaml:\d+ \(document 2\): malformed YAML: /);
  });
  it('reads the keyed-list format, and Go-style field names on request', () => {
    writeFileSync(join(dir, 'keyed.yaml'), 'backends:\n- apiVersion: gateway.envoyproxy.io/v1alpha1\n  kind: Backend\n  metadata: {name: b, namespace: ns}\n  spec:\n    endpoints:\n    - unix: {Path: /run/a.sock}\n');
    const strict = egts(join(dir, 'keyed.yaml'));
    assert.equal(strict.status, 1);
    assert.match(strict.stdout, /spec\.endpoints\[0\]\.unix\.Path: unknown field/);
    const goStyle = egts('--go-field-names', join(dir, 'keyed.yaml'));
    assert.equal(goStyle.status, 0, goStyle.stdout);
  });
});
