// Codec errors carry the path of the offending field, built while the error unwinds (each message
// level prepends its key), so the success path pays nothing for it.
/** A key of a map field, rendered as `["key"]` since keys often hold dots. */
export class MapKey {
  constructor(readonly key: string) {}
}

export type PathSegment = string | number | MapKey;

/** `filterChains[0].filters[1].typedConfig`, with map keys as `typedPerFilterConfig["envoy.filters.http.rbac"]`. */
export function renderPath(path: ReadonlyArray<PathSegment>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (p instanceof MapKey) out += `[${JSON.stringify(p.key)}]`;
    else out += out ? `.${p}` : p;
  }
  return out;
}

export class ProtoError extends Error {
  /** Path from the top-level resource to the offending value, in JSON names and list indexes. */
  readonly path: PathSegment[] = [];

  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ProtoError';
  }

  /** The path rendered like `filterChains[0].filters[1].typedConfig.statPrefix`. */
  get field(): string {
    return renderPath(this.path);
  }

  /** Called by the enclosing message or list while unwinding. */
  within(segment: PathSegment): this {
    this.path.unshift(segment);
    this.message = this.path.length ? `${this.field}: ${this.reason}` : this.reason;
    return this;
  }
}

/** Re-throws `err` with `segment` prepended when it is ours; wraps anything else. */
export function rethrowWithin(err: unknown, segment: PathSegment): never {
  if (err instanceof ProtoError) throw err.within(segment);
  throw new ProtoError(err instanceof Error ? err.message : String(err)).within(segment);
}

/** JSON.stringify, shortened for messages. */
export function show(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
