// What the registry knows about one kind: where it is served and which schema admits it.
import type { z } from 'zod';

export interface KindInfo {
  /** API group; '' for the core group. */
  group: string;
  kind: string;
  /** The versions the group serves this kind at (all share one schema here). */
  versions: readonly string[];
  schema: z.ZodType;
  /** Whether objects of this kind live in a namespace. */
  namespaced: boolean;
}
