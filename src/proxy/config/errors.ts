// A configuration the proxy cannot apply is reported as a value that names the resource and the
// field, so that the xDS client can NACK it with a precise message and keep the last good state.
// Inside one resource's compilation we throw ConfigError (deep recursion would otherwise thread
// results everywhere); the resource boundary catches it and turns it into a ConfigProblem.

export type ResourceKind = 'Listener' | 'RouteConfiguration' | 'Cluster' | 'ClusterLoadAssignment' | 'Secret' | 'Bootstrap';

export interface ConfigProblem {
  kind: ResourceKind;
  name: string;
  /** Field path inside the resource, e.g. `filterChains[0].filters[0].typedConfig`. */
  field: string;
  message: string;
}

export class ConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export function formatConfigProblem(p: ConfigProblem): string {
  return `${p.kind} ${p.name}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/** Runs one resource's compilation and turns a ConfigError (or any bug) into a problem. */
export function compileResource<T>(kind: ResourceKind, name: string, fn: () => T): { value?: T; problem?: ConfigProblem } {
  try {
    return { value: fn() };
  } catch (err) {
    if (err instanceof ConfigError) return { problem: { kind, name, field: err.field, message: err.message } };
    return { problem: { kind, name, field: '', message: `internal error: ${err instanceof Error ? err.message : String(err)}` } };
  }
}
