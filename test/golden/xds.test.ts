// Ratchet over the xds golden suite: every case listed in xds.passing.txt must still produce its
// expected output (or, for the harness's error cases, an error with the expected text). Runs the
// translator in-process. Skipped when the corpus (../shared/corpus) is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHarness } from '../../src/cli/golden/harness.js';
import { xdsSuite } from '../../src/cli/golden/xds.js';
import { corpusSkipReason, corpusSuiteDir, repoRoot } from '../support/corpus.js';
import { firstDifference, normalize } from '../support/golden.js';

const casesDir = corpusSuiteDir('xds');

function passingList(): string[] {
  return readFileSync(join(repoRoot, 'test', 'golden', 'xds.passing.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

test('xds golden cases that passed still pass', { skip: casesDir ? false : corpusSkipReason }, () => {
  const dir = casesDir!;
  const harness = loadHarness(dir);
  const errors: Record<string, string> = harness.xds?.errors ?? {};
  const regressions: string[] = [];
  for (const name of passingList()) {
    const input = readFileSync(join(dir, `${name}.in.yaml`), 'utf8');
    let actual: unknown;
    let thrown: string | undefined;
    try {
      actual = JSON.parse(JSON.stringify(xdsSuite.runCase(name, input, harness, dir)));
    } catch (e) {
      thrown = (e as Error).message;
    }
    if (errors[name] !== undefined) {
      if (!thrown?.includes(errors[name]!)) regressions.push(`${name}: expected an error with ${JSON.stringify(errors[name])}, got ${thrown ?? 'output'}`);
      continue;
    }
    if (thrown !== undefined) {
      regressions.push(`${name}: threw ${thrown}`);
      continue;
    }
    const expected = normalize(JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8')));
    const d = firstDifference(expected, normalize(actual));
    if (d) regressions.push(`${name}: differs at ${d}`);
  }
  assert.deepEqual(regressions, [], `${regressions.length} case(s) regressed:\n${regressions.join('\n')}`);
});
