// Waiting in tests for something another process or an event loop turn brings about.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `get` until it gives a truthy value, which it returns. A `get` that throws counts as not
 * yet; after `ms` the wait fails naming `what`, the last error `get` threw and, when given,
 * `context()` (e.g. a process's output).
 */
export async function until<T>(
  what: string,
  get: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 10_000,
  context?: () => string,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await get();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      const why = last ? ` (last error: ${(last as Error).message})` : '';
      throw new Error(`timed out waiting for ${what}${why}${context ? `\n${context()}` : ''}`);
    }
    await sleep(20);
  }
}
