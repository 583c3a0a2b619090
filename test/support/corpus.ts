// Where the golden corpus lives: ../shared next to the repository. Tests that need it skip
// with a message when it is absent (a fresh clone elsewhere); it is never copied into the project.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from a compiled test file under dist/test/. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const shared = process.env.EGTS_SHARED ?? join(repoRoot, '..', 'shared');

/** The folder of one suite of the corpus (gatewayapi, xds, ratelimit), or undefined when absent. */
export function corpusSuiteDir(suite: string): string | undefined {
  const dir = join(shared, 'corpus', 'eg-v1.9', suite);
  return existsSync(dir) ? dir : undefined;
}

export const corpusSkipReason = 'golden corpus not found at ../shared/corpus (set EGTS_SHARED to point elsewhere)';
