// Ratchet over the gatewayapi golden suite: every case listed in gatewayapi.passing.txt must
// still produce its expected output. The translator runs in-process on each case. Skipped when
// the corpus (../shared/corpus) is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHarness } from '../../src/cli/golden/harness.js';
import { runGatewayAPICase } from '../../src/cli/golden/gatewayapi.js';
import { corpusSkipReason, corpusSuiteDir, repoRoot } from '../support/corpus.js';
import { firstDifference, normalize } from '../support/golden.js';

const casesDir = corpusSuiteDir('gatewayapi');

/** The cases known to pass, one name a line (regenerate with the golden runner and the scorer). */
function passingList(): string[] {
  return readFileSync(join(repoRoot, 'test', 'golden', 'gatewayapi.passing.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

test('gatewayapi golden cases that passed still pass', { skip: casesDir ? false : corpusSkipReason }, () => {
  const dir = casesDir!;
  const harness = loadHarness(dir);
  const regressions: string[] = [];
  for (const name of passingList()) {
    const input = readFileSync(join(dir, `${name}.in.yaml`), 'utf8');
    const expected = normalize(JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8')));
    let actual: unknown;
    try {
      // Through JSON, as the runner writes it: undefined fields vanish, like omitted ones.
      actual = normalize(JSON.parse(JSON.stringify(runGatewayAPICase(name, input, harness, dir))));
    } catch (e) {
      regressions.push(`${name}: threw ${(e as Error).message}`);
      continue;
    }
    const d = firstDifference(expected, actual);
    if (d) regressions.push(`${name}: differs at ${d}`);
  }
  assert.deepEqual(regressions, [], `${regressions.length} case(s) regressed:\n${regressions.join('\n')}`);
});
