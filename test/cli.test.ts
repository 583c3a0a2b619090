import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './support/corpus.js';

const egts = (...args: string[]) => spawnSync(process.execPath, [join(repoRoot, 'bin', 'egts.js'), ...args], { encoding: 'utf8' });

test('egts --help lists the commands', () => {
  const r = egts('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /usage: egts <command>/);
  assert.match(r.stdout, /golden/);
});

test('an unknown command is an error with the usage', () => {
  const r = egts('no-such-command');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'no-such-command'/);
});
