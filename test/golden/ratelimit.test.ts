// Ratchet over the ratelimit golden suite: every case listed in ratelimit.passing.txt must still
// produce its expected rate limit service configuration and route actions. Runs in-process;
// skipped when the corpus (../shared/corpus) is not there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadHarness } from '../../src/cli/golden/harness.js';
import { ratelimitSuite } from '../../src/cli/golden/ratelimit.js';
import { corpusSkipReason, corpusSuiteDir, repoRoot } from '../support/corpus.js';
import { firstDifference, normalize } from '../support/golden.js';

const casesDir = corpusSuiteDir('ratelimit');

function passingList(): string[] {
  return readFileSync(join(repoRoot, 'test', 'golden', 'ratelimit.passing.txt'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

test('ratelimit golden cases that passed still pass', { skip: casesDir ? false : corpusSkipReason }, () => {
  const dir = casesDir!;
  const harness = loadHarness(dir);
  const regressions: string[] = [];
  for (const name of passingList()) {
    const input = readFileSync(join(dir, `${name}.in.yaml`), 'utf8');
    let actual: unknown;
    try {
      actual = JSON.parse(JSON.stringify(ratelimitSuite.runCase(name, input, harness, dir)));
    } catch (e) {
      regressions.push(`${name}: threw ${(e as Error).message}`);
      continue;
    }
    const expected = normalize(JSON.parse(readFileSync(join(dir, `${name}.expected.json`), 'utf8')));
    const d = firstDifference(expected, normalize(actual));
    if (d) regressions.push(`${name}: differs at ${d}`);
  }
  assert.deepEqual(regressions, [], `${regressions.length} case(s) regressed:\n${regressions.join('\n')}`);
});
