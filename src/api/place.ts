// Errors are values with a place: which file, which YAML document (and line), which resource,
// which field. Loading and validation return them; nothing here throws at the user.

export interface Place {
  file?: string;
  /** 0-based index of the YAML document in the file. */
  document?: number;
  /** 1-based line in the file where the document or the offending node starts. */
  line?: number;
  /** `Kind namespace/name` of the resource, once known. */
  resource?: string;
  /** Field path inside the resource, e.g. `spec.rules[0].matches[1].path.value`. */
  field?: string;
}

export interface Problem {
  message: string;
  place: Place;
}

/** Renders a zod-style path (['spec', 'rules', 0, 'matches']) as `spec.rules[0].matches`. */
export function fieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** `file:line (document 2) HTTPRoute default/foo: spec.rules[0]: message` */
export function formatProblem(p: Problem): string {
  const where: string[] = [];
  const { file, line, document, resource, field } = p.place;
  if (file) where.push(line ? `${file}:${line}` : file);
  if (document !== undefined) where.push(`(document ${document + 1})`);
  if (resource) where.push(resource);
  const head = where.join(' ');
  const body = field ? `${field}: ${p.message}` : p.message;
  return head ? `${head}: ${body}` : body;
}
